"""Run every lesson notebook with its `gpu` and `slow` cells, at full size, one at a time: the check for a GPU machine.

Inside the docker image: `python tools/run_gpu_cells.py` (all), `--only 05 10` (some), `--size tiny` (the gpu and slow
cells on the stand-ins). Prints PASS or FAIL and the seconds for each notebook, then `N passed, N failed`.
"""
import argparse, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBDEV_TEST = shutil.which('nbdev_test', path=str(Path(sys.executable).parent)) or 'nbdev_test'
FLAGS = 'gpu slow'  # the cells marked `#| gpu` or `#| slow`, skipped by the CPU tests (settings.ini's tst_flags)

def parse_args(argv=None) -> argparse.Namespace:
    "The command line: --size, --only, --allow-cpu."
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', choices=('full', 'tiny'), default='full',
                   help='COURSE_LIB_SIZE: full downloads the real datasets into COURSE_LIB_HOME once (default: full)')
    p.add_argument('--only', nargs='+', default=[], metavar='PREFIX',
                   help='only the notebooks whose names start with these, e.g. --only 05 10')
    p.add_argument('--allow-cpu', action='store_true',
                   help='run without CUDA too, to check this script (the gpu cells may fail on a CPU)')
    return p.parse_args(argv)

def notebooks(only) -> list:
    "The lesson notebooks in nbs/, or those whose names start with one of `only`; exits when a prefix matches none."
    nbs = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
    unmatched = [o for o in only if not any(nb.name.startswith(o) for nb in nbs)]
    if unmatched:
        sys.exit(f"--only: no notebook in nbs/ starts with {', '.join(unmatched)}; they are {[nb.stem for nb in nbs]}")
    return [nb for nb in nbs if not only or nb.name.startswith(tuple(only))]

def check_cuda(allow_cpu:bool):
    "Exit with a message unless CUDA is available or `allow_cpu`."
    import torch
    if torch.cuda.is_available(): print(f"GPU: {torch.cuda.get_device_name()}", flush=True)
    elif allow_cpu: print("no GPU: running on the CPU (--allow-cpu); gpu cells may fail without CUDA", flush=True)
    else: sys.exit(f"CUDA is not available to torch {torch.__version__}: run this on an NVIDIA GPU (in docker: "
                   f"`docker run --gpus all ...` or compose's lab service); --allow-cpu checks the script on a CPU")

def run(nb:Path, size:str) -> tuple:
    "Test `nb` with the gpu and slow cells at `size`: (passed, seconds, output)."
    t = time.perf_counter()
    p = subprocess.run([NBDEV_TEST, '--path', str(nb), '--flags', FLAGS], cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, COURSE_LIB_SIZE=size, MPLBACKEND='Agg'))
    return p.returncode == 0 and 'Success' in p.stdout, time.perf_counter() - t, p.stdout + p.stderr

def main(argv=None) -> int:
    "Run the chosen notebooks one at a time; 0 when all pass."
    args = parse_args(argv)
    nbs = notebooks(args.only)
    check_cuda(args.allow_cpu)
    print(f"{len(nbs)} notebooks at size {args.size} with the cells flagged {FLAGS!r}, one at a time", flush=True)
    t0, failed = time.perf_counter(), []
    for nb in nbs:
        ok, secs, out = run(nb, args.size)
        print(f"{'PASS' if ok else 'FAIL'}  {nb.name:<40} {secs:7.1f} s", flush=True)
        if not ok: failed.append(nb); print(out[-4000:], flush=True)
    print(f"all notebooks: {time.perf_counter() - t0:.1f} s")
    print(f"{len(nbs) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())

"""Run lesson notebooks with nbdev_test and print each one's time, then a `N passed, N failed` line.

- The CPU tests (what `.ci/run` calls): `python tools/run_notebooks.py`: every notebook at the size the environment says
  (CI: tiny), two at a time with one thread each, `#| gpu` and `#| slow` cells skipped.
- On a GPU machine or in the docker image: `python tools/run_notebooks.py --gpu`: the `gpu` and `slow` cells too, at
  full size, one at a time; `--size tiny` runs them on the stand-ins; `--allow-cpu` checks this script without CUDA.
- Name notebooks or the start of their names to run only those: `python tools/run_notebooks.py --gpu 05 10`."""
import argparse, os, shutil, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBDEV_TEST = shutil.which('nbdev_test', path=str(Path(sys.executable).parent)) or 'nbdev_test'
BUDGET_S = 90  # per notebook at tiny size on a 2-core CPU

def run(nb:Path, flags:str='', env:dict=None, timeout:float=None) -> tuple:
    "Test `nb` with nbdev_test (cells flagged `flags` included): `(passed, seconds, output)`."
    t = time.perf_counter()
    try: p = subprocess.run([NBDEV_TEST, '--path', str(nb), *(['--flags', flags] if flags else [])], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired: return False, time.perf_counter() - t, f"{nb.name}: over {timeout} s"
    return p.returncode == 0 and 'Success' in p.stdout, time.perf_counter() - t, p.stdout + p.stderr

def select(names) -> list:
    "The lesson notebooks in nbs/, or those named (paths, or the start of a name); exits when a name matches none."
    nbs = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
    if not nbs: sys.exit("no notebooks found in nbs/")
    unmatched = [n for n in names if not any(nb.name.startswith(Path(n).name) for nb in nbs)]
    if unmatched: sys.exit(f"no notebook in nbs/ starts with {', '.join(unmatched)}; they are {[nb.stem for nb in nbs]}")
    return [nb for nb in nbs if not names or nb.name.startswith(tuple(Path(n).name for n in names))]

def check_cuda(allow_cpu:bool):
    "Exit with a message unless CUDA is available or `allow_cpu`."
    import torch
    if torch.cuda.is_available(): print(f"GPU: {torch.cuda.get_device_name()}", flush=True)
    elif allow_cpu: print("no GPU: running on the CPU (--allow-cpu); gpu cells may fail without CUDA", flush=True)
    else: sys.exit(f"CUDA is not available to torch {torch.__version__}: run --gpu on an NVIDIA GPU (in docker: "
                   f"`docker run --gpus all ...` or compose's lab service); --allow-cpu checks the script on a CPU")

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks, or the start of their names (default: all)')
    p.add_argument('--gpu', action='store_true', help='run the gpu and slow cells too, one notebook at a time')
    p.add_argument('--size', choices=('full', 'tiny'), help='COURSE_LIB_SIZE (default: full with --gpu, else unchanged)')
    p.add_argument('--allow-cpu', action='store_true', help='with --gpu: run without CUDA too, to check this script')
    args = p.parse_args(argv)
    nbs = select(args.notebooks)
    env = dict(os.environ, MPLBACKEND='Agg')
    if args.size or args.gpu: env['COURSE_LIB_SIZE'] = args.size or 'full'
    if args.gpu: check_cuda(args.allow_cpu)
    else: env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')   # two notebooks share two cores
    flags, jobs = ('gpu slow', 1) if args.gpu else ('', 2)
    t0, failed = time.perf_counter(), []
    with ThreadPoolExecutor(jobs) as ex:
        for nb, (ok, secs, out) in zip(nbs, ex.map(lambda nb: run(nb, flags, env), nbs)):
            over = '' if args.gpu or secs <= BUDGET_S else f'  (over the {BUDGET_S} s budget)'
            print(f"{'PASS' if ok else 'FAIL'}  {nb.name:<40} {secs:6.1f} s{over}", flush=True)
            if not ok: failed.append(nb); print(out[-4000:], flush=True)
    print(f"all notebooks: {time.perf_counter() - t0:.1f} s")
    print(f"{len(nbs) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())

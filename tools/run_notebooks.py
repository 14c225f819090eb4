"""Run lesson notebooks with nbdev_test and print each one's time, then a `N passed, N failed` line.

- The CPU tests (what `.ci/run` calls): `python tools/run_notebooks.py`: every notebook at the size the environment says
  (CI: tiny), `#| gpu` and `#| slow` cells skipped, in two passes:
  `default`: one at a time, in order, at a learner's settings (course_lib chooses the threads) in one shared cache;
  `jupyterlab`: 00, 05 and 17 run all in JupyterLab in headless Chromium (`tools/jupyterlab_test.py`).
  `--passes one-thread default jupyterlab` adds a third: two at a time, one torch thread each, each from its own
  empty `COURSE_LIB_HOME` (every lesson alone and first); it is left out of CI to keep it within 15 minutes.
- On a GPU machine or in the docker image: `python tools/run_notebooks.py --gpu`: the `gpu` and `slow` cells too, at
  full size, one at a time; `--size tiny` runs them on the stand-ins; `--allow-cpu` checks this script without CUDA.
- Name notebooks or the start of their names to run only those: `python tools/run_notebooks.py --gpu 05 10`."""
import argparse, os, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBDEV_TEST = shutil.which('nbdev_test', path=str(Path(sys.executable).parent)) or 'nbdev_test'
BUDGET_S = 90  # per notebook at tiny size on a 2-core CPU
PASSES = ('one-thread', 'default', 'jupyterlab')
IN_BROWSER = ('00', '05', '17')   # the jupyterlab pass runs these at a learner's settings: the default pass skips them

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

def run_pass(name:str, nbs:list, env:dict, flags:str, jobs:int, fresh_home:bool=False) -> list:
    "Run `nbs` `jobs` at a time (each with its own empty COURSE_LIB_HOME if `fresh_home`): the names of those that failed."
    def one(nb):
        e = dict(env, COURSE_LIB_HOME=tempfile.mkdtemp(prefix=f'{nb.stem}-')) if fresh_home else env
        try: return run(nb, flags, e)
        finally:
            if fresh_home: shutil.rmtree(e['COURSE_LIB_HOME'], ignore_errors=True)
    failed, t0 = [], time.perf_counter()
    with ThreadPoolExecutor(jobs) as ex:
        for nb, (ok, secs, out) in zip(nbs, ex.map(one, nbs)):
            over = '' if 'gpu' in flags or secs <= BUDGET_S else f'  (over the {BUDGET_S} s budget)'
            print(f"{'PASS' if ok else 'FAIL'}  {name:<10} {nb.name:<40} {secs:6.1f} s{over}", flush=True)
            if not ok: failed.append(f'{name} {nb.name}'); print(out[-4000:], flush=True)
    print(f"{name} pass: {time.perf_counter() - t0:.1f} s", flush=True)
    return failed

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks, or the start of their names (default: all)')
    p.add_argument('--passes', nargs='+', choices=PASSES, default=PASSES[1:], help='CPU passes (default: default jupyterlab)')
    p.add_argument('--gpu', action='store_true', help='run the gpu and slow cells too, one notebook at a time')
    p.add_argument('--size', choices=('full', 'tiny'), help='COURSE_LIB_SIZE (default: full with --gpu, else unchanged)')
    p.add_argument('--allow-cpu', action='store_true', help='with --gpu: run without CUDA too, to check this script')
    args = p.parse_args(argv)
    nbs = select(args.notebooks)
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
    env['MPLBACKEND'] = 'Agg'
    if args.size or args.gpu: env['COURSE_LIB_SIZE'] = args.size or 'full'
    t0, failed, n = time.perf_counter(), [], 0
    if args.gpu:
        check_cuda(args.allow_cpu)
        failed += run_pass('gpu', nbs, env, 'gpu slow', 1); n += len(nbs)
    else:
        if 'one-thread' in args.passes:
            failed += run_pass('one-thread', nbs, dict(env, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1'), '', 2, True)
            n += len(nbs)
        if 'default' in args.passes:
            rest = [nb for nb in nbs if 'jupyterlab' not in args.passes or not nb.name.startswith(IN_BROWSER)]
            failed += run_pass('default', rest, env, '', 1); n += len(rest)
        if 'jupyterlab' in args.passes:
            in_lab = [nb for nb in nbs if nb.name.startswith(IN_BROWSER)]
            if in_lab:
                import jupyterlab_test
                failed += jupyterlab_test.run_all(in_lab, jupyterlab_test.SHOTS); n += len(in_lab)
    print(f"all passes: {time.perf_counter() - t0:.1f} s")
    for f in failed: print(f"FAILED  {f}")
    print(f"{n - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())

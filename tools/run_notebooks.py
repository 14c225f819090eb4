"""Run lesson notebooks, each in its own Jupyter kernel (`tools/execute.py`), and print each one's time, then a
`N passed, N failed` line.

- The CPU tests (what `.ci/run` calls): `python tools/run_notebooks.py`: every notebook at the size the environment says
  (CI: tiny), `#| gpu` and `#| slow` cells skipped, in three passes:
  `default`: one at a time, in order, at a learner's settings (a kernel as JupyterLab starts it: inline figures, course_lib
  choosing the threads) in one shared cache, each execution kept with its outputs in `_executed/`;
  `jupyterlab`: 00, 05 and 17 run all in JupyterLab in headless Chromium (`tools/jupyterlab_test.py`), kept the same way;
  `site`: those executions rendered into `_docs/` (`tools/build_site.py`) and every page checked in the same browser
  (`tools/site_test.py`), one test per page.
  `--passes one-thread default jupyterlab site` adds a pass first: two at a time, one torch thread each, each from its own
  empty `COURSE_LIB_HOME` (every lesson alone and first); it is left out of CI to keep it within 15 minutes.
- On a GPU machine or in the docker image: `python tools/run_notebooks.py --gpu`: the `gpu` and `slow` cells too, at
  full size, one at a time (kept in `_executed/`, for `tools/build_site.py --reuse`); `--size tiny` runs them on the
  stand-ins; `--allow-cpu` checks this script without CUDA.
- Name notebooks or the start of their names to run only those: `python tools/run_notebooks.py --gpu 05 10`."""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import EXECUTED, ROOT, machine  # noqa: E402

BUDGET_S = 90  # per notebook at tiny size on a 2-core CPU
PASSES = ('one-thread', 'default', 'jupyterlab', 'site')
IN_BROWSER = ('00', '05', '17')   # the jupyterlab pass runs these at a learner's settings: the default pass skips them

def run(nb:Path, flags:str='', env:dict=None, timeout:float=None, keep:Path=None, where:dict=None,
        run_pass:str='kernel') -> tuple:
    "Execute `nb` in a kernel (cells flagged `flags` included), kept in `keep` (else thrown away): `(passed, seconds, output)`."
    out = keep or Path(tempfile.mkdtemp(prefix='executed-'))
    cmd = [sys.executable, str(ROOT/'tools'/'execute.py'), str(nb), '--flags', flags, '--out', str(out),
           '--run-pass', run_pass, *(['--where', json.dumps(where)] if where else [])]
    t = time.perf_counter()
    try: p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired: return False, time.perf_counter() - t, f"{nb.name}: over {timeout} s"
    finally:
        if not keep: shutil.rmtree(out, ignore_errors=True)
    return p.returncode == 0, time.perf_counter() - t, p.stdout + p.stderr

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

def run_pass(name:str, nbs:list, env:dict, flags:str, jobs:int, fresh_home:bool=False, keep:Path=None) -> list:
    """Run `nbs` `jobs` at a time (each with its own empty COURSE_LIB_HOME if `fresh_home`; executions kept in `keep`):
    the names of those that failed."""
    where = machine(env.get('COURSE_LIB_SIZE'))
    def one(nb):
        e = dict(env, COURSE_LIB_HOME=tempfile.mkdtemp(prefix=f'{nb.stem}-')) if fresh_home else env
        try: return run(nb, flags, e, keep=keep, where=where, run_pass=name)
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
    p.add_argument('--passes', nargs='+', choices=PASSES,
                   help='CPU passes (default: default jupyterlab site; without site when notebooks are named)')
    p.add_argument('--gpu', action='store_true', help='run the gpu and slow cells too, one notebook at a time')
    p.add_argument('--size', choices=('full', 'tiny'), help='COURSE_LIB_SIZE (default: full with --gpu, else unchanged)')
    p.add_argument('--allow-cpu', action='store_true', help='with --gpu: run without CUDA too, to check this script')
    args = p.parse_args(argv)
    nbs, passes = select(args.notebooks), args.passes or PASSES[1:len(PASSES) - bool(args.notebooks)]
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'MPLBACKEND')}
    if args.size or args.gpu: env['COURSE_LIB_SIZE'] = args.size or 'full'
    t0, failed, n = time.perf_counter(), [], 0
    if args.gpu:
        check_cuda(args.allow_cpu)
        failed += run_pass('gpu', nbs, env, 'gpu slow', 1, keep=EXECUTED); n += len(nbs)
    else:
        if 'one-thread' in passes:
            failed += run_pass('one-thread', nbs, dict(env, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1'), '', 2, True)
            n += len(nbs)
        if 'default' in passes:
            rest = [nb for nb in nbs if 'jupyterlab' not in passes or not nb.name.startswith(IN_BROWSER)]
            failed += run_pass('default', rest, env, '', 1, keep=EXECUTED); n += len(rest)
        if 'jupyterlab' in passes:
            in_lab = [nb for nb in nbs if nb.name.startswith(IN_BROWSER)]
            if in_lab:
                import jupyterlab_test
                failed += jupyterlab_test.run_all(in_lab, jupyterlab_test.SHOTS, keep=EXECUTED); n += len(in_lab)
        if 'site' in passes:
            import site_test
            results = site_test.build_and_check()
            failed += [f'site {page}' for page, ok in results.items() if not ok]; n += len(results)
    print(f"all passes: {time.perf_counter() - t0:.1f} s")
    for f in failed: print(f"FAILED  {f}")
    print(f"{n - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())

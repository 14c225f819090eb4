"""Run lesson notebooks and print each one's time, then a `N passed, N failed` line.

- The CPU tests (what `.ci/run` calls): `python tools/run_notebooks.py`: every notebook at the size the environment says
  (CI: tiny), `#| gpu` and `#| slow` cells skipped, in three passes:
  `default`: one at a time, in order, at a learner's settings (course_lib chooses the threads) in one shared cache, each
  in a Jupyter kernel as JupyterLab runs it (cells skipped as `nbdev_test` skips them);
  `jupyterlab`: 00, 05 and 17 run all in JupyterLab in headless Chromium (`tools/jupyterlab_test.py`);
  `site`: the lessons as a website with their outputs (`tools/build_site.py`), each page checked in the same browser.
  Both running passes keep every executed notebook in `_executed/`, with the size, device and versions it ran with:
  the site is rendered from them. `--passes one-thread ...` adds one more: with `nbdev_test`, two at a time, one torch
  thread each, each from its own empty `COURSE_LIB_HOME` (every lesson alone and first); it is left out of CI to keep it
  within 15 minutes.
- On a GPU machine or in the docker image: `python tools/run_notebooks.py --gpu`: the `gpu` and `slow` cells too, at
  full size, one at a time (kept in `_executed/` too); `--size tiny` runs them on the stand-ins; `--allow-cpu` checks
  this script without CUDA.
- Name notebooks or the start of their names to run only those: `python tools/run_notebooks.py --gpu 05 10`."""
import argparse, functools, hashlib, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBDEV_TEST = shutil.which('nbdev_test', path=str(Path(sys.executable).parent)) or 'nbdev_test'
BUDGET_S = 90  # per notebook at tiny size on a 2-core CPU
PASSES = ('one-thread', 'default', 'jupyterlab', 'site')
KEPT = ROOT/'_executed'   # the executed lessons: what tools/build_site.py renders
ANSI = r'\x1b\[[0-9;]*m'   # the colours of a traceback
IN_BROWSER = ('00', '05', '17')   # the jupyterlab pass runs these at a learner's settings: the default pass skips them

def run(nb:Path, flags:str='', env:dict=None, timeout:float=None) -> tuple:
    "Test `nb` with nbdev_test (cells flagged `flags` included): `(passed, seconds, output)`."
    t = time.perf_counter()
    try: p = subprocess.run([NBDEV_TEST, '--path', str(nb), *(['--flags', flags] if flags else [])], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired: return False, time.perf_counter() - t, f"{nb.name}: over {timeout} s"
    return p.returncode == 0 and 'Success' in p.stdout, time.perf_counter() - t, p.stdout + p.stderr

RUN_INFO = r"""import json, os, platform, torch
from importlib.metadata import version
from course_lib.core import defaults, get_size
info = open('/proc/cpuinfo').read() if os.path.exists('/proc/cpuinfo') else ''
cpu = next((l.split(':', 1)[1].strip() for l in info.splitlines() if l.startswith('model name')), platform.machine())
device = torch.cuda.get_device_name() if defaults.device.type == 'cuda' else f"CPU: {cpu}, {os.cpu_count()} cores"
libs = 'course_lib torch torchvision numpy pandas scikit-learn matplotlib fastprogress ipywidgets'.split()
versions = {'python': platform.python_version(), **{p: version(p) for p in libs}}
print(json.dumps(dict(size=get_size(), device=device, versions=versions)))"""

@functools.cache
def run_info(size:str|None, in_test:str|None) -> dict:
    "The size, device and library versions a lesson gets in this environment with `COURSE_LIB_SIZE=size` and `IN_TEST=in_test`."
    env = {k: v for k, v in dict(os.environ, COURSE_LIB_SIZE=size or '', IN_TEST=in_test or '').items() if v}
    return json.loads(subprocess.run([sys.executable, '-c', RUN_INFO], env=env, capture_output=True, text=True,
                                     check=True).stdout)

def source_sha(nb:Path) -> str: return hashlib.sha256(nb.read_bytes()).hexdigest()

def keep(executed, sha:str, name:str, seconds:float, passed:bool, how:str, env:dict):
    "Save `executed` (a NotebookNode run from the notebook `name` whose source hashed to `sha`) in KEPT, with what it ran on."
    import nbformat
    from course_lib.core import atomic_write
    executed.metadata['course_lib'] = dict(run_info(env.get('COURSE_LIB_SIZE'), env.get('IN_TEST')), passed=passed,
        seconds=round(seconds, 1), executed_by=how, source_sha256=sha,
        date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))
    KEPT.mkdir(exist_ok=True)
    with atomic_write(KEPT/name, 'w') as f: nbformat.write(executed, f)

def skipped(cell, skip:set) -> bool:
    "Whether nbdev_test skips `cell`: not code, the export, `#| eval: false` or flagged with one of `skip`."
    from nbdev.process import extract_directives
    if cell.cell_type != 'code' or 'nbdev_export(' in cell.source: return True
    found = extract_directives(cell, remove=False)
    return found.get('eval:', [''])[0].lower() == 'false' or bool(skip & found.keys())

def execute(nb:Path, flags:str='', env:dict=None, timeout:float=600) -> tuple:
    "Run `nb` in a Jupyter kernel, cells skipped as `nbdev_test` skips them, and keep the executed copy: `(passed, seconds, output)`."
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbdev.config import get_config
    skip = set(get_config(path=ROOT).tst_flags.split()) - set(flags.split())
    class LessonClient(NotebookClient):
        async def async_execute_cell(self, cell, *args, **kwargs):
            return cell if skipped(cell, skip) else await super().async_execute_cell(cell, *args, **kwargs)
    env = {k: v for k, v in dict(env or os.environ, IN_TEST='1').items() if k != 'MPLBACKEND'}   # plots inline
    sha, executed, t, out = source_sha(nb), nbformat.read(nb, as_version=4), time.perf_counter(), ''
    with tempfile.TemporaryDirectory(prefix='kernel-') as sockets:   # the kernel talks over local sockets, not TCP
        km = KernelManager(kernel_name='python3', transport='ipc', ip=f'{sockets}/kernel')
        try: LessonClient(executed, km=km, timeout=timeout, resources={'metadata': {'path': str(nb.parent)}}).execute(env=env)
        except (CellExecutionError, TimeoutError, RuntimeError) as e: out = f"{nb.name}: {re.sub(ANSI, '', str(e))}"
    secs = time.perf_counter() - t
    keep(executed, sha, nb.name, secs, not out, 'a Jupyter kernel (nbclient)', env)
    return not out, secs, out

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
    """Run `nbs` `jobs` at a time (each with nbdev_test in its own empty COURSE_LIB_HOME if `fresh_home`, else executed and
    kept): the names of those that failed."""
    def one(nb):
        e = dict(env, COURSE_LIB_HOME=tempfile.mkdtemp(prefix=f'{nb.stem}-')) if fresh_home else env
        try: return run(nb, flags, e) if fresh_home else execute(nb, flags, e)
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
    p.add_argument('--passes', nargs='+', choices=PASSES, default=PASSES[1:],
                   help='CPU passes (default: default jupyterlab site)')
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
        if 'site' in args.passes:
            import build_site
            pages, site_failed = build_site.build_and_check(nbs, build_site.DOCS)
            failed += site_failed; n += pages
    print(f"all passes: {time.perf_counter() - t0:.1f} s")
    for f in failed: print(f"FAILED  {f}")
    print(f"{n - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main())

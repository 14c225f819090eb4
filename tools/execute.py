"""Execute one lesson notebook in a Jupyter kernel, as JupyterLab's Run All does, and keep it with its outputs.

`python tools/execute.py nbs/05_image_classification.ipynb [--flags "gpu slow"] [--out _executed]`: runs every code cell
in order in a fresh `python3` kernel started in `nbs/`, in this process's environment (so `COURSE_LIB_SIZE`,
`COURSE_LIB_HOME` and the threads are the caller's), skipping the cells nbdev_test skips (`#| eval: false`, and cells
flagged with one of settings.ini's `tst_flags` unless `--flags` names it). It stops at the first error, prints that cell's
traceback, and exits 1. Either way it saves the notebook, outputs and widget state included, to `--out/<name>.ipynb`
(atomically), stamped in its metadata (`course_lib`) with where and how it ran: size, device, library versions, the
pass, the seconds, the hash of the sources it ran, and the cells it skipped. `tools/build_site.py` renders those files."""
import argparse, hashlib, json, os, platform, re, sys, time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT/'_executed'
DIRECTIVE = re.compile(r'^\s*#\s*\|\s*(.*\S)\s*$')

def test_flags() -> set:
    "settings.ini's `tst_flags`: the flags that mark cells nbdev_test and this runner skip unless asked."
    m = re.search(r'^tst_flags\s*=\s*(.*)$', (ROOT/'settings.ini').read_text(), re.M)
    return set(m.group(1).split()) if m else set()

def skip_reason(source:str, run_flags:set, flags:set) -> str:
    "Why a code cell with `source` is not run ('' when it is run): `#| eval: false` or a test flag not in `run_flags`."
    for line in source.splitlines():
        m = DIRECTIVE.match(line)
        if not m: break
        words = m.group(1).split()
        if words[0] == 'eval:' and words[1:2] == ['false']: return 'eval: false'
        if words[0] in flags - run_flags: return f'#| {words[0]}'
    return ''

def sources_hash(nb:dict) -> str:
    "A hash of a notebook's cell sources: an execution is current while the sources it ran are unchanged."
    text = [''.join(c['source']) for c in nb['cells']]   # a list of lines on disk, one string once read by nbformat
    return hashlib.sha256(json.dumps(text).encode()).hexdigest()[:16]

def cpu_name() -> str:
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): return platform.processor() or platform.machine()

def versions() -> dict:
    "Python's and the main libraries' versions in this environment (the kernel's: the same interpreter)."
    out = {'python': platform.python_version()}
    for pkg in ('course_lib', 'torch', 'torchvision', 'fastprogress'):
        try: out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError: out[pkg] = 'not installed'
    return out

def machine(size:str=None) -> dict:
    "Where notebooks run from this environment: `size` (default: course_lib's `get_size()`), device."
    import torch
    from course_lib.core import get_size
    gpu = torch.cuda.is_available()
    device = f"GPU: {torch.cuda.get_device_name()}" if gpu else f"CPU: {cpu_name()}, {os.cpu_count()} cores"
    return {'size': size or get_size(), 'device': device, 'versions': versions()}

def stamp(nb:dict, where:dict, run_pass:str, seconds:float, skipped:dict, ok:bool) -> dict:
    "`nb` with its `course_lib` metadata: how, where and when it was executed."
    nb['metadata']['course_lib'] = dict(where, run_pass=run_pass, seconds=round(seconds, 1), ok=ok, skipped=skipped,
                                        sources=sources_hash(nb),
                                        executed=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    return nb

def save(nb:dict, dest:Path):
    "Write `nb` to `dest` atomically."
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f'.{dest.name}.{os.getpid()}.tmp')
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    os.replace(tmp, dest)

def execute(path:Path, run_flags:set=frozenset(), out:Path=EXECUTED, where:dict=None, run_pass:str='kernel',
            cell_timeout:float=600) -> bool:
    "Run `path` in a fresh kernel, save it with outputs to `out`: True when every cell ran without an error."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    nb, flags = nbformat.read(path, as_version=4), test_flags()
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name='python3', store_widget_state=True,
                            resources={'metadata': {'path': str(path.parent)}})
    skipped, ok, t = {}, True, time.perf_counter()
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != 'code': continue
            why = skip_reason(cell.source, set(run_flags), flags)
            if why: skipped[str(i)] = why; continue
            try: client.execute_cell(cell, i)
            except CellExecutionError as e:
                print(f"{path.name}, cell {i}:\n{e}", file=sys.stderr); ok = False; break
        client.set_widgets_metadata()
    save(stamp(nb, where or machine(), run_pass, time.perf_counter() - t, skipped, ok),
         out/path.name)
    return ok

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebook', help='the notebook to execute')
    p.add_argument('--flags', default='', help='test flags whose cells to run too (e.g. "gpu slow")')
    p.add_argument('--out', default=str(EXECUTED), help=f'where to save it (default {EXECUTED.relative_to(ROOT)})')
    p.add_argument('--where', help="the `machine()` stamp as JSON (from a caller that computed it once)")
    p.add_argument('--run-pass', default='kernel', help='the name of the run this execution belongs to')
    a = p.parse_args(argv)
    where = json.loads(a.where) if a.where else None
    return 0 if execute(Path(a.notebook).resolve(), set(a.flags.split()), Path(a.out), where, a.run_pass) else 1

if __name__ == '__main__': sys.exit(main())

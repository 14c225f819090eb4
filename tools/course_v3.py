"""How much of fast.ai's course-v3 (part 1, 2019) runs on course_lib: the course's own lesson notebooks, run cell by cell
with only their fastai imports changed.

Get the notebooks: `git clone https://github.com/fastai/course-v3` and point this script at `course-v3/nbs/dl1`
(or at a folder of copies of those notebooks; only their code cells matter):

    python tools/course_v3.py path/to/course-v3/nbs/dl1            # the 17 lesson notebooks
    python tools/course_v3.py path/to/course-v3/nbs/dl1 lesson1 lesson4-collab --timeout 120 --json out.json

What it does, for each notebook, in a fresh Python process (with COURSE_LIB_SIZE=tiny, MPLBACKEND=Agg, in an empty
working folder, the notebooks' folder on `sys.path` for their helper modules such as `crappify.py`):
- every `from fastai... import ...` line of a cell becomes `from course_lib.all import *`; any other import of `fastai`
  (`import fastai`, or the helper modules' own `from fastai.vision import *`) gets course_lib.all's names too;
- line magics (`%matplotlib inline`, `%reload_ext`, `%debug`, ...) and shell lines (`!...`) are skipped; `%time x` runs x;
- each cell runs, and its last expression is displayed as Jupyter would (repr and `_repr_*_`), within `--timeout`
  seconds of CPU time (all threads: a busy machine slows a cell down but does not fail it); a failing cell does not
  stop the notebook: the later cells still run, as a learner would carry on.
Cells are counted as runnable unless they are: empty, comments, magics or shell lines only; a Kaggle step; a Google
Images download (`download_images`); a GPU-only call (`.cuda()`, `torch.cuda`, or an error saying CUDA is missing).
Those still run (for what they define) but do not count. It prints a table, the total percentage of runnable cells that
passed, and for each failing cell the line that failed, the exception's first line, and where it was raised: in the
cell itself, by a `raise` in course_lib (a message meant for the learner), or deep inside course_lib (a bug or an
unsupported use)."""
import argparse, ast, json, linecache, os, re, signal, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ['lesson1-pets', 'lesson2-download', 'lesson2-sgd', 'lesson3-planet', 'lesson3-camvid', 'lesson3-imdb',
             'lesson3-head-pose', 'lesson4-tabular', 'lesson4-collab', 'lesson5-sgd-mnist', 'lesson6-rossmann',
             'lesson6-pets-more', 'lesson7-resnet-mnist', 'lesson7-human-numbers', 'lesson7-superres',
             'lesson7-superres-gan', 'lesson7-wgan']
GPU_CALL = re.compile(r'\.cuda\(|torch\.cuda\b|device\s*=\s*["\']cuda')
CUDA_MISSING = re.compile(r'CUDA|NVIDIA driver', re.I)

def prepare(src:str) -> tuple:
    "The code to run for a cell's `src`, and why the cell is not counted (None when it is)."
    out, magics, shell = [], 0, []
    for line in src.splitlines():
        s, ind = line.lstrip(), line[:len(line) - len(line.lstrip())]
        if s.startswith('%%'):
            if s.split()[0] not in ('%%time', '%%timeit', '%%capture'): return '', 'magic'
            magics += 1; continue
        if s.startswith('%'):
            m = re.match(r'%(time|timeit|prun)\s+(.*)', s)
            if m: out.append(ind + m.group(2))
            else: magics += 1
            continue
        if s.startswith('!'): shell.append(s); continue
        if re.match(r'from\s+fastai[\w.]*\s+import\b', s): line = ind + 'from course_lib.all import *'
        out.append(line)
    code = '\n'.join(out)
    live = '\n'.join(l for l in out if l.strip() and not l.lstrip().startswith('#'))
    if not live:
        if any('kaggle' in s for s in shell): return code, 'Kaggle'
        return code, 'shell' if shell else 'magic' if magics else 'empty or comments'
    if 'kaggle' in live.lower(): return code, 'Kaggle'
    if 'download_images(' in live: return code, 'Google Images download'
    if GPU_CALL.search(live): return code, 'GPU-only'
    return code, None

def defined_names(code:str) -> set:
    "The names a cell binds at its top level (assignments, defs, classes, imports; not names local to its functions)."
    try: tree = ast.parse(code)
    except SyntaxError: return set()
    names, todo = set(), list(tree.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name); continue
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)): continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): names.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)): names |= {(a.asname or a.name).split('.')[0] for a in n.names}
        todo.extend(ast.iter_child_nodes(n))
    return names

class CellTimeout(Exception): pass

def show(value):
    "Display `value` as Jupyter would: its rich representations, then its repr."
    for name in ('_repr_mimebundle_', '_repr_html_', '_repr_png_', '_repr_svg_', '_repr_markdown_', '_repr_latex_'):
        f = getattr(value, name, None)
        if callable(f) and not isinstance(value, type): f(include=None, exclude=None) if name == '_repr_mimebundle_' else f()
    print(repr(value))

def where(e:BaseException, cell_file:str) -> tuple:
    "The failing line of the cell, and where the exception was raised: 'cell', 'course_lib raise' or 'deep: file:line'."
    tb = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != __file__]
    mine = [f for f in tb if f.filename == cell_file]
    line = mine[-1].line if mine else ''
    lib = [f for f in tb if '/course_lib/' in f.filename]
    last = tb[-1] if tb else None
    if last is None or last.filename.startswith('<') and ' cell ' in last.filename: origin = 'cell'   # this or an earlier cell
    elif lib and last is lib[-1] and re.search(r'\braise\b', last.line or ''): origin = 'course_lib raise'
    elif lib: origin = f'deep: {Path(lib[-1].filename).name}:{lib[-1].lineno} in {lib[-1].name}' + (
        '' if last is lib[-1] else f' -> {Path(last.filename).name}:{last.lineno}')
    else: origin = f'library: {Path(last.filename).name}:{last.lineno}'
    return line, origin

def worker(nb_path:str, out_path:str, timeout:float):
    "Run the notebook's cells in this process, writing one JSON line per cell to `out_path`."
    import importlib.abc, importlib.util, types
    class FastaiAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):   # `import fastai...` in helper modules
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self, is_package=True) if name.split('.')[0] == 'fastai' else None
        def create_module(self, spec):
            import course_lib.all as cl
            m = types.ModuleType(spec.name); m.__dict__.update({n: getattr(cl, n) for n in cl.__all__}); m.__all__ = cl.__all__
            return m
        def exec_module(self, module): pass
    sys.meta_path.insert(0, FastaiAlias()); sys.path.insert(0, str(Path(nb_path).parent))
    import matplotlib.pyplot as plt
    def alarm(*_): raise CellTimeout(f"cell still running after {timeout:g} s of CPU time")
    signal.signal(signal.SIGPROF, alarm)
    cells = [''.join(c['source']) for c in json.loads(Path(nb_path).read_text())['cells'] if c['cell_type'] == 'code']
    ns, name = {'__name__': '__main__'}, Path(nb_path).stem
    with open(out_path, 'w') as out:
        for i, src in enumerate(cells):
            code, skip = prepare(src)
            res, t, cpu = {'i': i, 'src': src, 'skip': skip, 'defines': sorted(defined_names(code))}, time.perf_counter(), time.process_time()
            cell_file = f'<{name} cell {i}>'
            linecache.cache[cell_file] = (len(code), None, code.splitlines(True), cell_file)
            print(f'\n----- cell {i} -----', flush=True)
            signal.setitimer(signal.ITIMER_PROF, timeout)
            try:
                tree = ast.parse(code, cell_file)
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, cell_file, 'exec'), ns)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), cell_file, 'eval'), ns)
                    if value is not None and not code.rstrip().endswith(';'):
                        try: show(value)
                        except Exception as e: e.displaying = True; raise
                res['ok'] = True
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt): raise
                line, origin = where(e, cell_file)
                msg = (str(e).strip().splitlines() or [''])[0]
                res.update(ok=False, error=f'{type(e).__name__}: {msg}'[:400], line=(line or '').strip(), origin=origin,
                           displaying=getattr(e, 'displaying', False))
                if skip is None and CUDA_MISSING.search(msg): res['skip'] = 'GPU-only'
                traceback.print_exc()
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0); plt.close('all')
            res['secs'], res['cpu'] = round(time.perf_counter() - t, 2), round(time.process_time() - cpu, 2)
            out.write(json.dumps(res) + '\n'); out.flush()

def run_notebook(nb:Path, timeout:float, nb_timeout:float, log_dir:Path) -> dict:
    "Run `nb` in a fresh process: its cells' results and the seconds it took."
    env = dict(os.environ, COURSE_LIB_SIZE='tiny', MPLBACKEND='Agg', PYTHONPATH=str(ROOT))
    out, t = log_dir/f'{nb.stem}.jsonl', time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f'{nb.stem}-') as cwd, open(log_dir/f'{nb.stem}.log', 'w') as log:
        try: subprocess.run([sys.executable, __file__, '--worker', str(nb.resolve()), str(out), str(timeout)], cwd=cwd,
                            env=env, stdout=log, stderr=subprocess.STDOUT, timeout=nb_timeout)
        except subprocess.TimeoutExpired: pass
    cells = [json.loads(l) for l in out.read_text().splitlines()] if out.exists() else []
    n = sum(c['cell_type'] == 'code' for c in json.loads(nb.read_text())['cells'])
    if len(cells) < n:   # the process died or ran out of time: the cells it did not reach count as failed
        srcs = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        for i in range(len(cells), n):
            skip = prepare(srcs[i])[1]
            cells.append(dict(i=i, src=srcs[i], skip=skip, ok=False, error=f'not reached: the notebook stopped at cell '
                              f'{len(cells)} (crash or over {nb_timeout:g} s; see its log)', line='', origin='', defines=[]))
    return dict(cells=cells, secs=time.perf_counter() - t)

def cause(cells:list, c:dict) -> str:
    "For a NameError: the earlier cell that should have defined the name, if it failed or was not counted."
    m = re.match(r"NameError: name '(\w+)' is not defined", c.get('error', ''))
    if not m: return ''
    for p in reversed(cells[:c['i']]):
        if m.group(1) in p.get('defines', []):
            if p['skip']: return f" (follows from cell {p['i']}, not counted: {p['skip']})"
            if not p['ok']: return f" (follows from failed cell {p['i']})"
            return ''
    return ''

def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--worker': return worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('dir', type=Path, help="course-v3's nbs/dl1 folder (or copies of its notebooks)")
    p.add_argument('names', nargs='*', help='notebooks to run (the start of their names); default: the 17 lessons')
    p.add_argument('--timeout', type=float, default=60, help='CPU seconds per cell, all threads (default 60)')
    p.add_argument('--nb-timeout', type=float, default=3600, help='wall-clock seconds per notebook (default 3600)')
    p.add_argument('--json', type=Path, help='also write every cell result to this file')
    p.add_argument('--logs', type=Path, help="keep each notebook's output (NAME.log) in this folder")
    a = p.parse_args()
    nbs = [a.dir/f'{n}.ipynb' for n in NOTEBOOKS if not a.names or any(n == m or m not in NOTEBOOKS and n.startswith(m) for m in a.names)]
    missing = [nb.name for nb in nbs if not nb.exists()]
    if missing: sys.exit(f"not in {a.dir}: {', '.join(missing)} (see the docstring for how to get them)")
    log_dir = a.logs or Path(tempfile.mkdtemp(prefix='course_v3-')); log_dir.mkdir(parents=True, exist_ok=True)
    results, tot_run, tot_pass = {}, 0, 0
    print(f"{'notebook':<24}{'cells':>6}{'not counted':>13}{'runnable':>10}{'passed':>8}{'failed':>8}{'pass %':>8}{'time':>8}")
    for nb in nbs:
        r = results[nb.stem] = run_notebook(nb, a.timeout, a.nb_timeout, log_dir)
        cells = r['cells']; run = [c for c in cells if not c['skip']]; ok = sum(c['ok'] for c in run)
        tot_run += len(run); tot_pass += ok
        print(f"{nb.stem:<24}{len(cells):>6}{len(cells) - len(run):>13}{len(run):>10}{ok:>8}{len(run) - ok:>8}"
              f"{100 * ok / max(len(run), 1):>7.1f}%{r['secs']:>7.0f}s", flush=True)
    print(f"{'total':<24}{'':>6}{'':>13}{tot_run:>10}{tot_pass:>8}{tot_run - tot_pass:>8}{100 * tot_pass / max(tot_run, 1):>7.1f}%")
    skipped = {}
    for r in results.values():
        for c in r['cells']:
            if c['skip']: skipped[c['skip']] = skipped.get(c['skip'], 0) + 1
    print('not counted: ' + (', '.join(f'{k} {v}' for k, v in sorted(skipped.items(), key=lambda kv: -kv[1])) or 'none'))
    for name, r in results.items():
        bad = [c for c in r['cells'] if not c['skip'] and not c['ok']]
        if not bad: continue
        print(f'\n{name}: {len(bad)} failing cells')
        for c in bad:
            first = c['line'] or c['src'].strip().splitlines()[0] if c['src'].strip() else ''
            print(f"  cell {c['i']:>2}  {first[:110]}\n           {c['error'][:300]}{cause(r['cells'], c)}\n"
                  f"           raised: {c['origin']}{' (while displaying the value)' if c.get('displaying') else ''}")
    print(f'\nlogs: {log_dir}')
    if a.json: a.json.write_text(json.dumps(results, indent=1))

if __name__ == '__main__': main()

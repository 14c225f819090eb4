"""Calibrate the lessons' thresholds: run lessons over seeds x torch thread counts and print the spread of what they assert.

`python tools/calibrate.py 05 11 --seeds 5 --threads 1 2 4` runs each lesson once per seed and thread count, each run in a
fresh process at tiny size. A seed shift `s` adds `s` to every seed the lesson sets (`set_seed`, `np.random.seed`,
`random.seed`, `torch.manual_seed`), stand-ins, tiny pretrained weights and the processes a lesson starts included (the
shift is installed by a `sitecustomize` module that every Python process of the run imports): shift 0 is the lesson as CI
runs it.
Runs of one seed share a `COURSE_LIB_HOME`, so artefacts built under one thread count are used under the others.

Every cell runs even after a failure. After each cell, both sides of every comparison in its `assert` statements are
evaluated (sides that call `fit`, `predict` and the like are not) and recorded. The table (printed, and written to
`--out`) gives, per assertion, the range of each side over all runs and how many runs failed it; a threshold belongs
outside that range, close enough that a broken method falls on the wrong side. Cells that raised are listed too."""
import argparse, ast, json, os, subprocess, sys, tempfile, time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from run_notebooks import select  # noqa: E402

SKIP_FLAGS = {'gpu', 'slow'}
SIDE_EFFECTS = {'fit', 'fit_one_cycle', 'lr_find', 'validate', 'predict', 'get_preds', 'next', 'backward', 'step', 'train',
                'run', 'click', 'save', 'load', 'export', 'pop', 'append', 'remove', 'send', 'post', 'get', 'sleep'}
SHIFT_SEEDS = """import random as _r, numpy as _np, torch as _t
def _shifted(f, s):
    def seed(x=None, *a, **k): return f(x if x is None else x + s, *a, **k)
    return seed
_r.seed, _np.random.seed, _t.manual_seed = (_shifted(f, {s}) for f in (_r.seed, _np.random.seed, _t.manual_seed))"""

def directives(code:str) -> set:
    return {l[3:].strip().split(':')[0].split()[0] for l in code.splitlines() if l.startswith('#| ') and l[3:].strip()}

def comparisons(code:str) -> list:
    "The comparisons in `code`'s assert statements: (source of the assert, [source of each side that can be evaluated])."
    try: tree = ast.parse(code)
    except SyntaxError: return []
    out = []
    for a in (n for n in ast.walk(tree) if isinstance(n, ast.Assert)):
        sides = []
        for c in (n for n in ast.walk(a.test) if isinstance(n, ast.Compare)):
            for e in [c.left, *c.comparators]:
                calls = {getattr(n.func, 'attr', getattr(n.func, 'id', None)) for n in ast.walk(e) if isinstance(n, ast.Call)}
                if not isinstance(e, ast.Constant) and not calls & SIDE_EFFECTS: sides.append(ast.unparse(e))
        if sides: out.append((ast.unparse(a.test), sides))
    return out

def number(v):
    try: return round(float(v), 6)
    except (TypeError, ValueError, RuntimeError): return None

def one_run(nb:Path) -> list:
    "Run `nb` in this process, cell by cell: a record per assertion and per cell that raised."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    os.environ['IN_TEST'] = '1'; os.chdir(nb.parent)
    shell, records = CaptureShell(nb), []
    for i, cell in enumerate(read_nb(nb).cells):
        code = cell.source
        if cell.cell_type != 'code' or directives(code) & SKIP_FLAGS or '#| eval: false' in code: continue
        shell.run(code)
        if shell.exc is not None:
            records.append(dict(cell=i, error=f"{type(shell.exc).__name__}: {str(shell.exc)[:200]}")); shell.exc = None
        for test, sides in comparisons(code):
            vals = []
            for s in sides:
                try: vals.append(number(eval(s, shell.user_ns)))
                except Exception: vals.append(None)
            try: ok = bool(eval(test, shell.user_ns))
            except Exception: ok = None
            records.append(dict(cell=i, test=test, sides=sides, values=vals, ok=ok))
    return records

def calibrate(nbs:list, seeds:int, threads:list) -> dict:
    "{notebook: [(seed, threads, records)]}; runs share the cores: a run on t threads waits for t free ones (at most all)."
    import threading
    from concurrent.futures import ThreadPoolExecutor
    cores = os.cpu_count() or 1
    free, taking = threading.Semaphore(cores), threading.Lock()
    homes = {s: tempfile.mkdtemp(prefix=f'calibrate-seed{s}-') for s in range(seeds)}
    shifters = {s: tempfile.mkdtemp(prefix=f'calibrate-shift{s}-') for s in range(seeds)}
    for s, d in shifters.items(): Path(d, 'sitecustomize.py').write_text(SHIFT_SEEDS.format(s=s))
    runs = [(nb, s, t) for nb in nbs for t in threads for s in range(seeds)]   # runs on one thread pair up
    def go(run):
        nb, s, t = run; need = min(t, cores)
        with taking:
            for _ in range(need): free.acquire()
        try: return one(nb, s, t)
        finally:
            for _ in range(need): free.release()
    def one(nb, s, t):
        t0 = time.perf_counter()
        env = dict(os.environ, OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t), COURSE_LIB_SIZE='tiny',
                   COURSE_LIB_HOME=homes[s], MPLBACKEND='Agg',
                   PYTHONPATH=os.pathsep.join(filter(None, [shifters[s], os.environ.get('PYTHONPATH')])))
        p = subprocess.run([sys.executable, __file__, '--one', str(nb)], env=env, capture_output=True,
                           text=True)
        recs = json.loads(p.stdout.splitlines()[-1]) if p.returncode == 0 and p.stdout.strip() else \
               [dict(cell=-1, error=p.stderr[-500:])]
        bad = sum(r.get('ok') is False or 'error' in r for r in recs)
        print(f"{nb.stem} seed+{s} threads={t}: {time.perf_counter() - t0:.0f} s, {bad} failed", file=sys.stderr, flush=True)
        for r in recs:
            if r.get('ok') is False or 'error' in r: print(f"    cell {r['cell']}: {r.get('error') or r['test']} {r.get('values', '')}",
                                                           file=sys.stderr, flush=True)
        return nb, s, t, recs
    out = defaultdict(list)
    with ThreadPoolExecutor(cores) as ex:
        for nb, s, t, recs in ex.map(go, runs): out[nb.stem].append((s, t, recs))
    return out

def fmt(lo, hi) -> str: return f"{lo:.4g}" if lo == hi else f"{lo:.4g} – {hi:.4g}"

def table(results:dict) -> str:
    "Markdown: per lesson, per assertion with a side that varies or fails, each side's range and the failures."
    lines = []
    for nb, runs in results.items():
        by, errors = defaultdict(list), defaultdict(list)
        for s, t, recs in runs:
            for r in recs:
                if 'error' in r: errors[r['cell']].append(f"seed+{s}/{t}t: {r['error']}")
                else: by[(r['cell'], r['test'], tuple(r['sides']))].append((r['values'], r['ok']))
        conds = sorted({(s, t) for s, t, _ in runs})
        lines += [f"\n## {nb}\n", f"{len(runs)} runs: seed shifts {sorted({s for s, _ in conds})} x threads "
                  f"{sorted({t for _, t in conds})}\n", "| cell | assertion | each side over the runs | failed |", "|---|---|---|---|"]
        for (cell, test, sides), rows in sorted(by.items()):
            ranges = []
            for k, side in enumerate(sides):
                vs = [v[k] for v, _ in rows if v[k] is not None]
                if vs: ranges.append(f"`{side[:40]}`: {fmt(min(vs), max(vs))}")
            fails = sum(ok is False for _, ok in rows)
            varies = any('–' in r for r in ranges)
            if ranges and (varies or fails):
                lines.append(f"| {cell} | `{test[:70]}` | {'; '.join(ranges)} | {fails}/{len(rows)} |")
        for cell, errs in sorted(errors.items()):
            lines.append(f"| {cell} | raised | {errs[0][:150]} | {len(errs)}/{len(runs)} |")
    return '\n'.join(lines) + '\n'

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks, or the start of their names (default: all)')
    p.add_argument('--seeds', type=int, default=5, help='seed shifts 0 .. seeds-1 (default 5)')
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2, 4], help='torch thread counts (default 1 2 4)')
    p.add_argument('--out', help='also write the table to this markdown file')
    p.add_argument('--one', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one: print(json.dumps(one_run(Path(args.one).resolve()))); return 0
    results = calibrate(select(args.notebooks), args.seeds, args.threads)
    text = table(results); print(text)
    if args.out: Path(args.out).write_text(f"# Calibration\n\nMade by `python tools/calibrate.py {' '.join(argv or sys.argv[1:])}`."
                                          f"\n{text}")
    return 0

if __name__ == '__main__': sys.exit(main())

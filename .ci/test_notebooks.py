"""Run every notebook in nbs/ with nbdev_test, two at a time, and print each one's time and a `N passed, N failed` line."""
import os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BUDGET_S = 90  # per notebook at tiny size on a 2-core CPU

def run(nb: Path):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')  # two notebooks share two cores
    t = time.perf_counter()
    p = subprocess.run(['nbdev_test', '--path', str(nb)], capture_output=True, text=True, env=env)
    return nb, p.returncode == 0 and 'Success' in p.stdout, time.perf_counter() - t, p.stdout + p.stderr

def main(args):
    nbs = [Path(a) for a in args] or sorted(Path('nbs').glob('[0-9]*.ipynb'))
    if not nbs: print('no notebooks found in nbs/'); print('0 passed, 1 failed'); return 1
    t0, failed = time.perf_counter(), []
    with ThreadPoolExecutor(2) as ex:
        for nb, ok, secs, out in ex.map(run, nbs):
            flag = '' if secs <= BUDGET_S else f'  (over the {BUDGET_S} s budget)'
            print(f"{'PASS' if ok else 'FAIL'}  {nb.name:<40} {secs:6.1f} s{flag}", flush=True)
            if not ok: failed.append(nb); print(out[-4000:], flush=True)
    print(f"all notebooks: {time.perf_counter() - t0:.1f} s")
    print(f"{len(nbs) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))

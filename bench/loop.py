"""The same training three ways — a plain PyTorch loop, course_lib's Learner, fastai's Learner — interleaved; medians and ratios.

Usage: python bench/loop.py [--runs 5] [--workloads cnn resnet18]
fastai runs in its own environment (bench/.venv-fastai, made by bench/setup_fastai.sh), because fastai 2.8 needs
fastcore >= 2.2 and nbdev 2 needs fastcore < 2; it is skipped with a note when that environment is missing."""
import argparse, json, os, statistics, subprocess, sys
from pathlib import Path

HERE = Path(__file__).parent
FASTAI_PY = HERE/'.venv-fastai/bin/python'

def run(impl, workload):
    py = str(FASTAI_PY) if impl == 'fastai' else sys.executable
    out = subprocess.run([py, str(HERE/'loop_worker.py'), impl, workload], capture_output=True, text=True)
    if out.returncode: raise RuntimeError(f"{impl} on {workload} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

def main(runs, workloads):
    impls = ['raw', 'course_lib'] + (['fastai'] if FASTAI_PY.exists() else [])
    if 'fastai' not in impls: print(f"fastai skipped: {FASTAI_PY} missing (run bench/setup_fastai.sh)")
    rows = []
    for w in workloads:
        times = {i: [] for i in impls}; accs = {i: [] for i in impls}
        for _ in range(runs):  # interleaved: A B C A B C ... so that load changes hit all alike
            for i in impls:
                r = run(i, w); times[i].append(r['seconds']); accs[i].append(r['accuracy'])
        med = {i: statistics.median(t) for i, t in times.items()}
        row = {'workload': w, **{f'{i} s': round(med[i], 3) for i in impls},
               'course_lib/raw': round(med['course_lib'] / med['raw'], 3)}
        if 'fastai' in med: row['course_lib/fastai'] = round(med['course_lib'] / med['fastai'], 3)
        row['accuracy (median)'] = {i: round(statistics.median(a), 3) for i, a in accs.items()}
        rows.append(row); print(json.dumps(row), flush=True)
    return rows

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--runs', type=int, default=5)
    p.add_argument('--workloads', nargs='+', default=['cnn', 'resnet18']); a = p.parse_args()
    main(a.runs, a.workloads)

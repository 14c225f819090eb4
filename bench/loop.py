"""The same training three ways — a plain PyTorch loop, course_lib's Learner, fastai's Learner — interleaved.

A round is one fresh process that trains with each implementation in turn (the order rotates from round to round):
runs in one process share its luck (memory layout, load), which varied by 20 % from process to process here.
Reports median seconds, and each ratio from the rounds' pairs, with going first favouring neither (`paired_ratio`).
Usage: python bench/loop.py [--runs 8] [--workloads cnn resnet18]
       python bench/loop.py --fast     (resnet18, each at its fastest on a CPU: course_lib and the plain loop in bfloat16
                                        and channels-last, fastai channels-last, since its mixed precision needs CUDA)
       python bench/loop.py --gpu      (CUDA only: `to_fp16()` vs a raw AMP loop, resnet34 at 224 px)
Every round runs on the benchmark environment (bench/.venv-fastai, made by bench/setup_fastai.sh: fastai 2.8
and course_lib, apart from .venv because fastai needs fastcore >= 2.2 and nbdev 2 needs fastcore < 2); without it,
fastai is skipped with a note and the others run on this interpreter."""
import argparse, json, math, statistics, subprocess, sys
from pathlib import Path

HERE = Path(__file__).parent
FASTAI_PY = HERE/'.venv-fastai/bin/python'
SETTINGS = {  # the implementation (a function of loop_worker.py) that plays each part
    'default': {'raw': 'raw', 'course_lib': 'course_lib', 'fastai': 'fastai'},
    'fast': {'raw': 'raw_fast', 'course_lib': 'course_lib_fast', 'fastai': 'fastai_fast'},
    'gpu': {'raw': 'raw_amp', 'course_lib': 'course_lib_fp16'},
}

def python() -> str:
    "One interpreter for every implementation: the benchmark environment (fastai and course_lib) when it exists."
    return str(FASTAI_PY) if FASTAI_PY.exists() else sys.executable

def run_round(worker:str, *args) -> list:
    "A fresh process runs `worker` (a script here) with `args`, each implementation in turn: a process's luck hits all."
    out = subprocess.run([python(), str(HERE/worker), *args], capture_output=True, text=True)
    if out.returncode: raise RuntimeError(f"{worker} {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

def rotations(impls, runs) -> list:
    "The order of each round: A B C, B C A, C A B ...: each implementation goes first as often as the others."
    return [impls[r % len(impls):] + impls[:r % len(impls)] for r in range(runs)]

def paired_ratio(values:dict, x, y, orders) -> float:
    """values[x][i] / values[y][i] over the rounds i (ran in `orders`): rounds share the machine's load of the moment.
    The median over the rounds where x went first, and over those where y did, then their geometric mean: here the
    first of two fits in a process ran about 5 % faster, and going first should favour neither."""
    by_first = {True: [], False: []}
    for vx, vy, order in zip(values[x], values[y], orders): by_first[order.index(x) < order.index(y)].append(vx / vy)
    medians = [statistics.median(r) for r in by_first.values() if r]
    return round(math.prod(medians) ** (1 / len(medians)), 3)

def main(runs, workloads, setting='default'):
    parts = dict(SETTINGS[setting])
    if 'fastai' in parts and not FASTAI_PY.exists():
        print(f"fastai skipped: {FASTAI_PY} missing (run bench/setup_fastai.sh)"); del parts['fastai']
    impls, ours = list(parts.values()), parts['course_lib']
    rows = []
    for w in workloads:
        times = {i: [] for i in impls}; accs = {i: [] for i in impls}; orders = rotations(impls, runs)
        for order in orders:  # interleaved: load changes hit all alike, and none always goes first
            for out in run_round('loop_worker.py', w, *order):
                times[out['impl']].append(out['seconds']); accs[out['impl']].append(out['accuracy'])
        row = {'workload': w, 'setting': setting, **{f'{part} s': round(statistics.median(times[i]), 3) for part, i in parts.items()}}
        for part, i in parts.items():
            if i != ours: row[f'course_lib/{part}'] = paired_ratio(times, ours, i, orders)
        row['accuracy (median)'] = {part: round(statistics.median(accs[i]), 3) for part, i in parts.items()}
        rows.append(row); print(json.dumps(row), flush=True)
    return rows

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--runs', type=int, default=8); p.add_argument('--workloads', nargs='+')
    p.add_argument('--fast', action='store_true'); p.add_argument('--gpu', action='store_true'); a = p.parse_args()
    if a.gpu:
        import torch
        if not torch.cuda.is_available(): sys.exit("bench/loop.py --gpu: CUDA is not available on this machine")
        main(a.runs, a.workloads or ['resnet34'], 'gpu')
    elif a.fast: main(a.runs, a.workloads or ['resnet18'], 'fast')
    else: main(a.runs, a.workloads or ['cnn', 'resnet18'])

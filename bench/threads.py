"""How long a lesson takes under each thread policy, alone and beside a busy program, in one run.

`python bench/threads.py --lesson 03_learner --rounds 3`: runs the lesson (`nbdev_test`, tiny size, warm cache) under
  - `1 thread`: OMP_NUM_THREADS=1,
  - `N threads`: OMP_NUM_THREADS=N, torch's own default (one per core),
  - `course_lib`: nothing set; course_lib's `ThreadPolicy` chooses (00_core),
each alone and beside a busy program (one Python loop at 100 % of a core, normal priority), taking turns in a new order
every round. Prints the median seconds of each and two ratios: beside-busy / alone for each policy, and alone /
best fixed count alone. Targets: course_lib at most 1.5x beside a busy program and at most 1.15x the best fixed count."""
import argparse, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBDEV_TEST = str(Path(sys.executable).parent/'nbdev_test')

def lesson_seconds(nb:Path, env:dict) -> float:
    t = time.perf_counter()
    p = subprocess.run([NBDEV_TEST, '--path', str(nb)], cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode or 'Success' not in p.stdout: sys.exit(f"{nb.name} failed:\n{(p.stdout + p.stderr)[-3000:]}")
    return time.perf_counter() - t

def busy_program() -> subprocess.Popen: return subprocess.Popen([sys.executable, '-c', 'while True: pass'])

def main(argv=None):
    import torch
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--lesson', default='03_learner', help='the notebook in nbs/ (default 03_learner)')
    p.add_argument('--rounds', type=int, default=3, help='rounds, each running every combination once (default 3)')
    args = p.parse_args(argv)
    nb, cores = ROOT/'nbs'/f'{args.lesson}.ipynb', torch.get_num_threads()
    base = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
    base.update(COURSE_LIB_SIZE='tiny', MPLBACKEND='Agg', COURSE_LIB_HOME=tempfile.mkdtemp(prefix='bench-threads-'))
    policies = {'1 thread': dict(OMP_NUM_THREADS='1'), f'{cores} threads': dict(OMP_NUM_THREADS=str(cores)), 'course_lib': {}}
    combos = [(pol, busy) for pol in policies for busy in (False, True)]
    print(f"{nb.name}: warming the cache ({cores} cores, torch {torch.__version__})", flush=True)
    lesson_seconds(nb, base)
    times = {c: [] for c in combos}
    for r in range(args.rounds):
        for pol, busy in combos[r % len(combos):] + combos[:r % len(combos)]:
            hog = busy_program() if busy else None
            try: secs = lesson_seconds(nb, dict(base, **policies[pol]))
            finally:
                if hog: hog.kill(); hog.wait()
            times[pol, busy].append(secs)
            print(f"round {r + 1}: {pol:<11} {'beside a busy program' if busy else 'alone':<22} {secs:6.1f} s", flush=True)
    med = {c: statistics.median(v) for c, v in times.items()}
    best = min(med[pol, False] for pol in policies if pol != 'course_lib')
    print(f"\n{nb.stem}, median of {args.rounds} rounds (seconds; ranges in brackets)\n")
    print("| policy | alone | beside a busy program | busy / alone | alone / best fixed |")
    print("|---|---|---|---|---|")
    for pol in policies:
        a, b = med[pol, False], med[pol, True]
        rng = lambda c: f"{min(times[c]):.1f}-{max(times[c]):.1f}"
        print(f"| {pol} | {a:.1f} ({rng((pol, False))}) | {b:.1f} ({rng((pol, True))}) | {b / a:.2f} | {a / best:.2f} |")

if __name__ == '__main__': main()

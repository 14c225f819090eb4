"""Text: tokenisation throughput (course_lib vs fastai 2.8) and AWD-LSTM language-model training speed (course_lib's
Learner vs a plain PyTorch loop), interleaved; median rates, each ratio from paired rounds (`loop.paired_ratio`).

Usage: python bench/text.py [--runs 8] [--benchmarks tokenize lm]
The texts are the paragraphs of CPython's `pydoc_data.topics` (offline English that ships with Python).
- tokenize: course_lib's `Tokenizer().process_all` vs fastai's `tokenize_texts` with `SpacyTokenizer` and
  `defaults.text_proc_rules` (what `Tokenizer.from_df` runs): spaCy's blank English tokenizer in one process each
  (fastai `n_workers=0`), set up once, then timed passes taking turns. The tokens differ a little: fastai applies its
  case rules to space-separated words before spaCy (course_lib to spaCy's tokens, so '(Python' gets `xxmaj` there
  only), marks 3+ repeats (course_lib 4+, as fastai v1), turns '...' into '…' and keeps a '▁' in newline tokens.
- lm: `language_model_learner(...).fit_one_cycle` vs the same AWD-LSTM (tiny config) trained by a plain loop on the
  same batches (course_lib's `LMDataLoader`), with fused AdamW (the Learner's default), one-cycle schedule and AR/TAR;
  a round is one fresh process that fits both ways after warm-up steps, and only the training is timed.
Every worker runs on the benchmark environment (bench/.venv-fastai: fastai and course_lib, made by bench/setup_fastai.sh);
without it, fastai is skipped with a note."""
import argparse, json, re, statistics, subprocess, sys, tempfile
from loop import FASTAI_PY, HERE, paired_ratio, python, rotations, run_round

def documents() -> list:
    "The paragraphs of CPython's pydoc_data.topics, in a fixed order."
    from pydoc_data.topics import topics
    return [p.strip() for k in sorted(topics) for p in re.split(r'\n\s*\n', topics[k]) if p.strip()]

class Worker:
    "A process that sets up `benchmark` the `impl` way, then times a run per `run()`."
    def __init__(self, benchmark, impl):
        self.name, self.err = f"{benchmark} with {impl}", tempfile.TemporaryFile('w+')
        self.p = subprocess.Popen([python(), str(HERE/'text_worker.py'), benchmark, impl], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err, text=True)
    def reply(self) -> dict:
        "The worker's next JSON line (the first says that its set-up is done)."
        for line in self.p.stdout:
            if line.startswith('{'): return json.loads(line)
        self.p.wait(); self.err.seek(0)
        raise RuntimeError(f"{self.name} failed:\n{self.err.read()[-2000:]}")
    def run(self) -> dict: self.p.stdin.write('run\n'); self.p.stdin.flush(); return self.reply()
    def close(self): self.p.stdin.close(); self.p.wait(); self.err.close()

def start(benchmark, impls) -> dict:
    "A worker per implementation, set up side by side (none of it timed)."
    workers = {i: Worker(benchmark, i) for i in impls}
    for w in workers.values(): w.reply()
    return workers

def stop(workers:dict):
    for w in workers.values(): w.close()

def interleaved(benchmark, impls, orders) -> dict:
    "A result of each implementation per round, each in its own process, the rounds in `orders`."
    res, workers = {i: [] for i in impls}, start(benchmark, impls)
    for order in orders:
        for i in order: res[i].append(workers[i].run())
    stop(workers)
    return res

def rates(results, what) -> list: return [r[what] / r['seconds'] for r in results]

def tokenize_row(runs) -> dict:
    impls = ['course_lib'] + (['fastai'] if FASTAI_PY.exists() else [])
    if 'fastai' not in impls: print(f"fastai skipped: {FASTAI_PY} missing (run bench/setup_fastai.sh)")
    orders = rotations(impls, runs); res = interleaved('tokenize', impls, orders)
    lengths = {i: r[0]['lengths'] for i, r in res.items()}
    row = {'benchmark': f"tokenize {len(lengths['course_lib'])} texts, 1 process"}
    for unit in ('texts', 'tokens'):
        row.update({f'{i} {unit}/s': round(statistics.median(rates(r, unit))) for i, r in res.items()})
    if 'fastai' in res:
        row['course_lib/fastai texts/s'] = paired_ratio({i: rates(r, 'texts') for i, r in res.items()}, 'course_lib', 'fastai', orders)
        same = sum(a == b for a, b in zip(lengths['course_lib'], lengths['fastai']))
        row['texts with equal token counts'] = f"{same / len(lengths['course_lib']):.1%}"
    row['tokens per pass'] = {i: sum(l) for i, l in lengths.items()}
    return row

def lm_row(runs) -> dict:
    res, orders = {'raw': [], 'course_lib': []}, rotations(['raw', 'course_lib'], runs)
    for order in orders:   # a round is one fresh process that fits both ways
        for out in run_round('text_worker.py', 'lm', *order): res[out['impl']].append(out)
    r0 = res['course_lib'][0]
    row = {'benchmark': f"AWD-LSTM LM fit, {r0['batches']} batches of {r0['bs']}x{r0['bptt']}",
           **{f'{i} tokens/s': round(statistics.median(rates(r, 'tokens'))) for i, r in res.items()}}
    row['course_lib/raw tokens/s'] = paired_ratio({i: rates(r, 'tokens') for i, r in res.items()}, 'course_lib', 'raw', orders)
    row['train loss (median)'] = {i: round(statistics.median(x['loss'] for x in r), 3) for i, r in res.items()}
    return row

def main(runs, benchmarks=('tokenize', 'lm')):
    rows = []
    for b in benchmarks:
        rows.append({'tokenize': tokenize_row, 'lm': lm_row}[b](runs)); print(json.dumps(rows[-1]), flush=True)
    return rows

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--runs', type=int, default=8)
    p.add_argument('--benchmarks', nargs='+', default=['tokenize', 'lm'], choices=['tokenize', 'lm']); a = p.parse_args()
    main(a.runs, a.benchmarks)

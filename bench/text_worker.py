"""Run by text.py. `tokenize IMPL`: set up the tokenizer, print a JSON line, then tokenize once per line read and print
what it timed as JSON (one process per implementation). `lm IMPL ...`: after warm-up steps, fit the language model once
each way, in the order given, in this one process, and print the list of what it timed as JSON."""
import argparse, json, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from text import documents

PASSES = 3                                           # tokenisation passes over the texts, timed together
BS, BPTT, EPOCHS, LR, MOMS, WD = 32, 20, 1, 1e-2, (0.8, 0.7), 1e-2
DROP_MULT, ALPHA, BETA = 0.3, 2., 1.                 # as 07_text; AR and TAR as `RNNLearner`'s defaults
DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

def now() -> float:
    "The time, once the GPU (if any) has finished the work queued so far."
    if DEVICE.type == 'cuda': torch.cuda.synchronize()
    return time.perf_counter()

def course_lib_tokenizer():
    from course_lib.text import Tokenizer
    return Tokenizer().process_all

def fastai_tokenizer():
    from fastai.text.core import SpacyTokenizer, tokenize_texts
    tok = SpacyTokenizer()
    return lambda texts: tokenize_texts(texts, n_workers=0, tok=tok)

def tokenize(impl):
    "After an untimed pass (spaCy's set-up and word cache, alike for both), a run tokenizes the texts `PASSES` times."
    texts, process_all = documents(), {'course_lib': course_lib_tokenizer, 'fastai': fastai_tokenizer}[impl]()
    lengths = [len(o) for o in process_all(texts)]
    def run():
        t = time.perf_counter()
        for _ in range(PASSES): process_all(texts)
        return {'seconds': time.perf_counter() - t, 'texts': PASSES * len(texts), 'tokens': PASSES * sum(lengths),
                'lengths': lengths}
    return run

def lm_data():
    "The texts tokenized by course_lib, every tenth one for validation, as language-model batches."
    import numpy as np
    from course_lib.text import TextList
    docs = documents()
    lists = TextList(docs).split_by_idx(np.arange(0, len(docs), 10)).label_for_lm()
    return lists.databunch(bs=BS, bptt=BPTT, device=DEVICE)

def course_lib_lm(data):
    "`language_model_learner` fitting one cycle; a callback times the training phase of each epoch (not validation)."
    from course_lib.learner import Callback
    from course_lib.text import AWD_LSTM, awd_config, language_model_learner
    class TrainTimer(Callback):
        order, seconds = -100, 0.
        def before_train(self): self.start = now()
        def after_train(self): self.seconds += now() - self.start
    learn = language_model_learner(data, AWD_LSTM, awd_config('lm', 'tiny'), drop_mult=DROP_MULT, pretrained=False,
                                   wd=WD, alpha=ALPHA, beta=BETA, show_progress=False)
    timer = learn.add_cb(TrainTimer())
    def fit():
        learn.fit_one_cycle(EPOCHS, LR, moms=MOMS)
        return timer.seconds, sum(learn.recorder.raw_losses) / len(learn.recorder.raw_losses)
    return fit

def raw_lm(data):
    "The same model and batches in a plain loop: AdamW + OneCycleLR, cross-entropy plus AR and TAR, hidden state reset."
    import torch.nn.functional as F
    from course_lib.text import AWD_LSTM, LMDataLoader, awd_config, get_language_model
    model = get_language_model(AWD_LSTM, len(data.vocab), awd_config('lm', 'tiny'), DROP_MULT).to(DEVICE)
    dl = LMDataLoader(data.train_ds, BS, BPTT, shuffle=True)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(MOMS[0], 0.99), weight_decay=WD, fused=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LR, total_steps=EPOCHS * len(dl), pct_start=0.3, div_factor=25.,
                                                base_momentum=MOMS[1], max_momentum=MOMS[0], final_div_factor=1e4)
    def fit():
        t, losses = now(), []
        for _ in range(EPOCHS):
            model.train(); model[0].reset()
            for xb, yb in dl:
                xb, yb = xb.to(DEVICE, non_blocking=True), yb.to(DEVICE, non_blocking=True)
                pred = model(xb); out = model[0].last_output
                loss = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), yb.reshape(-1))
                loss = loss + ALPHA * out.pow(2).mean() + BETA * (out[:, 1:] - out[:, :-1]).pow(2).mean()
                loss.backward(); opt.step(); sched.step(); opt.zero_grad(set_to_none=True); losses.append(loss.detach())
        return now() - t, torch.stack(losses).mean().item()
    return fit

def warm_up():
    "Three untimed steps: the first training in a process pays one-off costs (allocator, kernel set-up) that are nobody's."
    from course_lib.text import AWD_LSTM, awd_config, get_language_model
    data = lm_data(); model = get_language_model(AWD_LSTM, len(data.vocab), awd_config('lm', 'tiny'), DROP_MULT).to(DEVICE)
    for _, (xb, yb) in zip(range(3), data.train_dl):
        pred = model(xb); torch.nn.functional.cross_entropy(pred.reshape(-1, pred.shape[-1]), yb.reshape(-1)).backward()

def lm(impl):
    "A run fits `EPOCHS` epochs: the seconds, training tokens and mean training loss (a fit runs once)."
    from course_lib.core import set_seed
    data = lm_data(); set_seed(0)
    fit = {'course_lib': course_lib_lm, 'raw': raw_lm}[impl](data)
    per_row = sum(len(o) for o in data.train_ds.x.ids) // BS - 1      # the inputs an epoch reads from each of the BS rows
    def run():
        seconds, loss = fit()
        return {'seconds': seconds, 'tokens': EPOCHS * BS * per_row, 'batches': EPOCHS * len(data.train_dl), 'bs': BS,
                'bptt': BPTT, 'loss': loss}
    return run

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('benchmark', choices=['tokenize', 'lm']); p.add_argument('impls', nargs='+')
    a = p.parse_args()
    if a.benchmark == 'lm':
        warm_up(); print(json.dumps([{'impl': i, **lm(i)()} for i in a.impls]))
    else:
        run = tokenize(a.impls[0])
        print(json.dumps({'ready': a.impls[0]}), flush=True)
        for _ in sys.stdin: print(json.dumps(run()), flush=True)

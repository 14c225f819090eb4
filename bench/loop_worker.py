"""Train one workload one way and print the seconds its fit took (set-up excluded) as JSON. Run by loop.py; each run is a fresh process."""
import argparse, json, sys, time
from pathlib import Path
import torch
import torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).parent))
from workloads import WORKLOADS, loaders

LR, WD, BETAS = 3e-3, 1e-2, (0.9, 0.99)

def raw(model, train_dl, valid_dl, epochs):
    "The plain PyTorch loop: AdamW + OneCycleLR, validation accuracy each epoch."
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=WD)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LR, total_steps=epochs * len(train_dl), pct_start=0.3,
                                                base_momentum=0.85, max_momentum=0.95, div_factor=25.)
    def fit():
        for _ in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss = F.cross_entropy(model(xb), yb); loss.backward(); opt.step(); sched.step(); opt.zero_grad()
            model.eval(); correct = n = 0
            with torch.no_grad():
                for xb, yb in valid_dl: correct += (model(xb).argmax(1) == yb).sum().item(); n += len(yb)
        return correct / n
    return fit

def course_lib(model, train_dl, valid_dl, epochs):
    from course_lib.data import DataBunch
    from course_lib.learner import Learner, accuracy
    learn = Learner(DataBunch(train_dl, valid_dl), model, loss_func=F.cross_entropy, metrics=[accuracy], wd=WD,
                    show_progress=False)
    def fit(): learn.fit_one_cycle(epochs, LR); return learn.recorder.metrics[-1][0]
    return fit

def fastai(model, train_dl, valid_dl, epochs):
    import fastai.callback.all  # noqa: F401  (fit_one_cycle, the progress bar and `no_bar`, as `from fastai.vision.all import *` brings)
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner
    from fastai.metrics import accuracy
    learn = Learner(DataLoaders(train_dl, valid_dl), model, loss_func=F.cross_entropy, metrics=accuracy, wd=WD)
    def fit():
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, LR)
        return float(learn.recorder.values[-1][-1])
    return fit

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('impl'); p.add_argument('workload'); a = p.parse_args()
    data, make_model, epochs, bs = WORKLOADS[a.workload]
    torch.manual_seed(0); train_dl, valid_dl = loaders(*data(), bs); model = make_model()
    fit = globals()[a.impl](model, train_dl, valid_dl, epochs)   # imports and set-up are not timed
    t = time.perf_counter(); acc = fit()
    print(json.dumps({'seconds': time.perf_counter() - t, 'accuracy': acc}))

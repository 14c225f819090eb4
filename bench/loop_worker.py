"""Train one workload once each way, in the order given, in this one process; print the seconds each fit took as JSON."""
import argparse, json, sys, time
from pathlib import Path
import torch
import torch.nn.functional as F
sys.path.insert(0, str(Path(__file__).parent))
from workloads import WORKLOADS, loaders

LR, WD, BETAS = 3e-3, 1e-2, (0.9, 0.99)
DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

def raw(model, train_dl, valid_dl, epochs, amp_dtype=None, channels_last=False):
    "The plain PyTorch loop: fused AdamW (the Learner's default) + OneCycleLR, validation loss and accuracy each epoch."
    model.to(DEVICE, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=WD, fused=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, LR, total_steps=epochs * len(train_dl), pct_start=0.3,
                                                base_momentum=0.85, max_momentum=0.95, div_factor=25.)
    scaler = torch.amp.GradScaler(DEVICE.type, enabled=amp_dtype == torch.float16)   # bfloat16 needs no loss scaling
    autocast = lambda: torch.autocast(DEVICE.type, dtype=amp_dtype or torch.float16, enabled=amp_dtype is not None)
    def fit():
        for _ in range(epochs):
            model.train()
            for xb, yb in train_dl:
                xb, yb = xb.to(DEVICE, non_blocking=True), yb.to(DEVICE, non_blocking=True)
                with autocast(): loss = F.cross_entropy(model(xb), yb)
                scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); sched.step(); opt.zero_grad()
            model.eval(); loss = correct = n = 0
            with torch.no_grad(), autocast():
                for xb, yb in valid_dl:
                    xb, yb = xb.to(DEVICE, non_blocking=True), yb.to(DEVICE, non_blocking=True)
                    out = model(xb); n += len(yb)
                    loss += F.cross_entropy(out, yb, reduction='sum').item(); correct += (out.argmax(1) == yb).sum().item()
        return correct / n
    return fit

def raw_amp(model, train_dl, valid_dl, epochs):
    "The plain loop with CUDA mixed precision: float16 autocast and a GradScaler."
    return raw(model, train_dl, valid_dl, epochs, amp_dtype=torch.float16)

def raw_fast(model, train_dl, valid_dl, epochs):
    "The plain loop with bfloat16 autocast and a channels-last model: what `course_lib_fast` does."
    return raw(model, train_dl, valid_dl, epochs, amp_dtype=torch.bfloat16, channels_last=True)

def course_lib(model, train_dl, valid_dl, epochs, setup=lambda learn: learn):
    from course_lib.data import DataBunch
    from course_lib.learner import Learner, accuracy
    learn = setup(Learner(DataBunch(train_dl, valid_dl, device=DEVICE), model, loss_func=F.cross_entropy,
                          metrics=[accuracy], wd=WD, show_progress=False))
    def fit(): learn.fit_one_cycle(epochs, LR); return learn.recorder.metrics[-1][0]
    return fit

def course_lib_fp16(model, train_dl, valid_dl, epochs):
    "course_lib's Learner after `to_fp16()`."
    return course_lib(model, train_dl, valid_dl, epochs, setup=lambda learn: learn.to_fp16())

def course_lib_fast(model, train_dl, valid_dl, epochs):
    "course_lib's Learner after `to_bf16()` (it checks that the device has bfloat16) and `to_channels_last()`."
    def setup(learn):
        if learn.to_bf16().amp_dtype is None: raise SystemExit("course_lib_fast: this device has no bfloat16")
        return learn.to_channels_last()
    return course_lib(model, train_dl, valid_dl, epochs, setup=setup)

def fastai(model, train_dl, valid_dl, epochs, channels_last=False):
    import fastai.callback.all  # noqa: F401  (fit_one_cycle, the progress bar and `no_bar`, as `from fastai.vision.all import *` brings)
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner
    from fastai.metrics import accuracy
    learn = Learner(DataLoaders(train_dl, valid_dl), model, loss_func=F.cross_entropy, metrics=accuracy, wd=WD)
    if channels_last: learn.to_channelslast(use_amp=False)
    def fit():
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, LR)
        return float(learn.recorder.values[-1][-1])
    return fit

def fastai_fast(model, train_dl, valid_dl, epochs):
    "fastai at its fastest on a CPU: channels-last (its mixed precision needs CUDA)."
    return fastai(model, train_dl, valid_dl, epochs, channels_last=True)

def synchronized(fit):
    "`fit`, then wait for the GPU to finish, so that the time measured includes all its work."
    def run():
        acc = fit()
        if DEVICE.type == 'cuda': torch.cuda.synchronize()
        return acc
    return run

def warm_up(workload):
    "Three untimed steps: the first training in a process pays one-off costs (allocator, kernel set-up) that are nobody's."
    data, make_model, _, bs = WORKLOADS[workload]
    model = make_model().to(DEVICE); opt = torch.optim.AdamW(model.parameters(), fused=True)
    for _, (xb, yb) in zip(range(3), loaders(*data(), bs)[0]):
        F.cross_entropy(model(xb.to(DEVICE)), yb.to(DEVICE)).backward(); opt.step(); opt.zero_grad()

def timed(impl, workload) -> dict:
    "Set up `impl` on `workload` afresh (not timed), then time its fit."
    data, make_model, epochs, bs = WORKLOADS[workload]
    torch.manual_seed(0); train_dl, valid_dl = loaders(*data(), bs); model = make_model()
    fit = synchronized(globals()[impl](model, train_dl, valid_dl, epochs))
    t = time.perf_counter(); acc = fit()
    return {'impl': impl, 'seconds': time.perf_counter() - t, 'accuracy': acc}

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('workload'); p.add_argument('impls', nargs='+'); a = p.parse_args()
    warm_up(a.workload)
    print(json.dumps([timed(i, a.workload) for i in a.impls]))

"""Image pipeline throughput: JPEG decode + random resized crop + flip + normalise, images/s, course_lib vs torchvision
and fastai.

Usage: python bench/images.py [--runs 8] [--size 64]
All read the same JPEG files (the PETS stand-in at tiny size, the real pets at full size) with the same transforms:
course_lib's data block route, a plain torchvision `ImageFolder` + transforms.v2 pipeline, and fastai 2.8's `DataBlock`
(item transforms `RandomResizedCrop` + `FlipItem`, batch transform `Normalize`). It measures on the benchmark
environment (bench/.venv-fastai, where fastai is) when that exists; without it, fastai is skipped with a note."""
import argparse, importlib.util, json, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from torchvision import datasets as tvd
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2
from torch.utils.data import DataLoader
from course_lib.data import ImageList, imagenet_stats
from course_lib.datasets import URLs, image_files, untar_data
from loop import FASTAI_PY, paired_ratio, rotations

def class_folders(files):
    "An ImageFolder-style tree of symlinks, one folder per breed (torchvision's ImageFolder needs one)."
    root = Path(tempfile.mkdtemp())
    for f in files:
        d = root/f.stem.rsplit('_', 1)[0]; d.mkdir(exist_ok=True); (d/f.name).symlink_to(f)
    return root

def course_lib_loader(path, size, bs, nw):
    tfms = [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
    data = (ImageList.from_folder(path).split_none().label_from_re(r'/([^/]+)_\d+.jpg$')
            .transform((tfms, []), size=None).databunch(bs=bs, num_workers=nw, device=torch.device('cpu'))
            .normalize(imagenet_stats))
    return data.train_dl

def torchvision_loader(path, size, bs, nw):
    t = v2.Compose([v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip(),
                    v2.ToDtype(torch.float32, scale=True), v2.Normalize(*imagenet_stats)])
    ds = tvd.ImageFolder(str(path), transform=t, loader=lambda p: decode_image(p, mode=ImageReadMode.RGB))
    return DataLoader(ds, bs, shuffle=True, drop_last=True, num_workers=nw, persistent_workers=nw > 0)

def fastai_loader(files, size, bs, nw):
    from fastai.vision.all import (CategoryBlock, DataBlock, FlipItem, ImageBlock, IndexSplitter, Normalize,
                                   RandomResizedCrop, RegexLabeller)
    block = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=lambda _: files, splitter=IndexSplitter([]),
                      get_y=RegexLabeller(r'/([^/]+)_\d+.jpg$'), item_tfms=[RandomResizedCrop(size), FlipItem()],
                      batch_tfms=Normalize.from_stats(*imagenet_stats))
    return block.dataloaders(None, bs=bs, num_workers=nw, device=torch.device('cpu')).train

def images_per_s(dl, at_least:int=12000):
    "Images per second over whole epochs, until `at_least` images (seconds: start-up costs are in, but small)."
    n, t = 0, time.perf_counter()
    while n < at_least:
        for xb, _ in dl: n += len(xb)
    return n / (time.perf_counter() - t)

def on_bench_env(runs, size) -> list:
    "Run this script on the benchmark environment (`--here`) and pass on its rows."
    out = subprocess.run([str(FASTAI_PY), __file__, '--runs', str(runs), '--size', str(size), '--here'],
                         capture_output=True, text=True)
    if out.returncode: raise RuntimeError(f"bench/images.py on {FASTAI_PY} failed:\n{out.stderr[-2000:]}")
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith('{')]
    for r in rows: print(json.dumps(r), flush=True)
    return rows

def main(runs, size, bs=64, here=False):
    has_fastai = importlib.util.find_spec('fastai') is not None
    if not has_fastai and not here and FASTAI_PY.exists(): return on_bench_env(runs, size)
    if not has_fastai: print(f"fastai skipped: {FASTAI_PY} missing (run bench/setup_fastai.sh)")
    files = image_files(untar_data(URLs.PETS)/'images'); folders = class_folders(files)
    rows = []
    for nw in (0, 2):
        makers = {'course_lib': lambda: course_lib_loader(files[0].parent, size, bs, nw),
                  'torchvision': lambda: torchvision_loader(folders, size, bs, nw)}
        if has_fastai: makers['fastai'] = lambda: fastai_loader(files, size, bs, nw)
        res, orders = {k: [] for k in makers}, rotations(list(makers), runs)
        for order in orders:  # taking turns at going first
            for k in order: res[k].append(images_per_s(makers[k]()))
        row = {'workers': nw, **{f'{k} img/s': round(statistics.median(v)) for k, v in res.items()}}
        for k in list(makers)[1:]: row[f'course_lib/{k}'] = paired_ratio(res, 'course_lib', k, orders)
        rows.append(row); print(json.dumps(row), flush=True)
    shutil.rmtree(folders)   # the symlinks only
    return rows

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--runs', type=int, default=8); p.add_argument('--size', type=int, default=64)
    p.add_argument('--here', action='store_true', help="measure on this interpreter, even without fastai")
    a = p.parse_args(); main(a.runs, a.size, here=a.here)

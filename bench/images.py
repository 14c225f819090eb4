"""Image pipeline throughput: JPEG decode + random resized crop + flip + normalise, images/s, course_lib vs torchvision.

Usage: python bench/images.py [--runs 7] [--size 64]
Both read the same JPEG files (the PETS stand-in at tiny size, the real pets at full size) with the same transforms:
course_lib's `ImageDataBunch` route, and a plain torchvision `ImageFolder` + transforms.v2 pipeline."""
import argparse, json, shutil, statistics, tempfile, time
from pathlib import Path
import torch
from torchvision import datasets as tvd
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2
from torch.utils.data import DataLoader
from course_lib.data import ImageList, imagenet_stats
from course_lib.datasets import URLs, image_files, untar_data
from loop import paired_ratio

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

def images_per_s(dl, at_least:int=12000):
    "Images per second over whole epochs, until `at_least` images (seconds: start-up costs are in, but small)."
    n, t = 0, time.perf_counter()
    while n < at_least:
        for xb, _ in dl: n += len(xb)
    return n / (time.perf_counter() - t)

def main(runs, size, bs=64):
    files = image_files(untar_data(URLs.PETS)/'images'); folders = class_folders(files)
    rows = []
    for nw in (0, 2):
        makers = {'course_lib': lambda: course_lib_loader(files[0].parent, size, bs, nw),
                  'torchvision': lambda: torchvision_loader(folders, size, bs, nw)}
        res = {k: [] for k in makers}
        for r in range(runs):  # taking turns at going first
            for k in (list(makers) if r % 2 == 0 else list(makers)[::-1]): res[k].append(images_per_s(makers[k]()))
        med = {k: statistics.median(v) for k, v in res.items()}
        row = {'workers': nw, **{f'{k} img/s': round(v) for k, v in med.items()},
               'course_lib/torchvision': paired_ratio(res['course_lib'], res['torchvision'])}
        rows.append(row); print(json.dumps(row), flush=True)
    shutil.rmtree(folders)   # the symlinks only
    return rows

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--runs', type=int, default=7); p.add_argument('--size', type=int, default=64)
    a = p.parse_args(); main(a.runs, a.size)

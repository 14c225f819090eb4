"""The benchmark workloads: the same data and model for every implementation (imports only torch, torchvision, sklearn)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader, TensorDataset

def digits(size:int, channels:int, n:int=None):
    "scikit-learn's digits scaled to `size` px with `channels` channels, split 80/20, as float TensorDatasets."
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16
    x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False).expand(-1, channels, -1, -1).contiguous()
    y = torch.tensor(d.target)
    if n: x, y = x[:n], y[:n]
    cut = int(0.8 * len(x))
    return TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])

def small_cnn():
    "Stride-2 convolutions with batchnorm: 1x28x28 -> 10 classes."
    def conv(ni, nf): return [nn.Conv2d(ni, nf, 3, stride=2, padding=1), nn.BatchNorm2d(nf), nn.ReLU()]
    return nn.Sequential(*conv(1, 16), *conv(16, 32), *conv(32, 64), nn.Conv2d(64, 10, 3, stride=2, padding=1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())

WORKLOADS = {  # name: (datasets, model, epochs, batch size)
    'cnn': (lambda: digits(28, 1), small_cnn, 8, 64),
    'resnet18': (lambda: digits(64, 3, n=640), lambda: torchvision.models.resnet18(num_classes=10), 1, 64),
    'resnet34': (lambda: digits(224, 3, n=1280), lambda: torchvision.models.resnet34(num_classes=10), 2, 64),  # GPU only
}

def loaders(train_ds, valid_ds, bs):
    "Plain torch DataLoaders, shared by every implementation: no workers, so data loading costs the same."
    g = torch.Generator().manual_seed(0)
    return (DataLoader(train_ds, bs, shuffle=True, drop_last=True, generator=g, num_workers=0),
            DataLoader(valid_ds, 2 * bs, num_workers=0))

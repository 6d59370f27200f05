#!/usr/bin/python3
"""Writes tests/reference/train_parity.safetensors: what PyTorch 1.13 (Debian's python3-torch) computes
for 20 training steps of train_cifar's recipes, which tests/test_train_parity.cpp checks minidl's
training step against (apps/train/step.h: the step train_cifar runs). Rerun to regenerate:
    /usr/bin/python3 tests/reference/train_parity_reference.py

Both sides build the same start without sharing a random generator: every parameter and every
batch value is a pure function of its name and index, splitmix64 (below, and tests/test_train_parity.cpp)
turned into a double with exact arithmetic, so the two languages produce the same bits:
  u(key, i)    = (splitmix64(key ^ splitmix64(i)) >> 11) * 2^-53            in [0, 1)
  a weight of >= 2 dims: (2u - 1) / sqrt(fan_in)      (the scale of torch's default init)
  a 1-D weight:          1 + (2u - 1) / 4             (norm scales near their default 1)
  a 1-D bias:            (2u - 1) / 4
  image value:           4u - 2                       key "images", i = step * B*3*32*32 + offset
  label:                 splitmix64(key ^ splitmix64(i)) % 10   key "labels", i = step * B + n
where key = FNV-1a 64 of the parameter's dotted name (minidl's named_parameters() and torch's
named_parameters() agree on them). No dropout, no augmentation: those are random streams the two
libraries do not share (their statistics are tested separately, tests/test_train_stats.cpp).

Cases (float64, batch 8 of 32x32 images, 20 steps, each step: forward, cross-entropy with label
smoothing 0.1, zero_grad, backward, optimizer step, scheduler step):
  skipnet48k-{batch,group,layer}  SGD(momentum 0.9, nesterov, weight decay 5e-4) + OneCycleLR(max_lr 0.1,
                                  20 steps, pct_start 0.25, div 25, final div 1e4, cos, momentum 0.85-0.95):
                                  the recipe of the PyTorch script compared in docs/results.md
  resnet9w4-batch                 resnet9 at width 4 (4-8-16-32 channels), Adam(weight decay 5e-4) +
                                  OneCycleLR(max_lr 0.01, pct_start 0.2083, betas[0] cycled 0.85-0.95):
                                  the ResNet recipe at a size a fixture can hold
Stored per case: "<case>/<param name>" after the 20 steps, "<case>/buffer/<name>" (batch norm's running
statistics), "<case>/losses" (the 20 losses, before each step).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "apps"))
import bench_train_torch as twin  # noqa: E402  (skipnet48k layer for layer)

M64 = (1 << 64) - 1
STEPS, BATCH = 20, 8


def splitmix64(x):
    """Vectorized over numpy uint64 (wrapping arithmetic)."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(M64)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv1a(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def bits(key, n, start=0):
    with np.errstate(over="ignore"):
        i = np.arange(start, start + n, dtype=np.uint64)
        return splitmix64(np.uint64(key) ^ splitmix64(i))


def uniform(key, n, start=0):
    return (bits(key, n, start) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def init_(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            u = torch.from_numpy(uniform(fnv1a(name), p.numel())).view(p.shape)
            if p.dim() >= 2:
                p.copy_((2 * u - 1) / math.sqrt(p.numel() // p.shape[0]))
            elif name.endswith("weight"):
                p.copy_(1 + (2 * u - 1) / 4)
            else:
                p.copy_((2 * u - 1) / 4)


def batch(step):
    n = BATCH * 3 * 32 * 32
    x = torch.from_numpy(4 * uniform(fnv1a("images"), n, step * n) - 2).view(BATCH, 3, 32, 32)
    y = torch.from_numpy((bits(fnv1a("labels"), BATCH, step * BATCH) % np.uint64(10)).astype(np.int64))
    return x, y


def resnet9(width):
    """layers/models/resnet9.cpp with ModelOptions::width, batch norm, no dropout."""
    w = width

    def conv(i, o):
        return nn.Conv2d(i, o, 3, padding=1, bias=False)

    def conv_pool(i, o):
        return nn.Sequential(conv(i, o), nn.MaxPool2d(2), nn.BatchNorm2d(o), nn.ReLU())

    class Residual(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.main = nn.Sequential(conv(c, c), nn.BatchNorm2d(c), nn.ReLU(), conv(c, c), nn.BatchNorm2d(c), nn.ReLU())

        def forward(self, x):
            return self.main(x) + x

    net = nn.Sequential()
    net.add_module("prep", nn.Sequential(conv(3, w), nn.ReLU(), nn.BatchNorm2d(w), nn.Dropout(0.0)))
    net.add_module("layer1", conv_pool(w, 2 * w))
    net.add_module("res1", Residual(2 * w))
    net.add_module("layer2", conv_pool(2 * w, 4 * w))
    net.add_module("layer3", conv_pool(4 * w, 8 * w))
    net.add_module("res2", Residual(8 * w))
    net.add_module("head", nn.Sequential(nn.MaxPool2d(4), nn.Flatten(), nn.Linear(8 * w, 10)))
    return net


def run(model, make_opt, onecycle):
    model = model.double()
    init_(model)
    model.train()
    opt = make_opt(model.parameters())
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, total_steps=STEPS, anneal_strategy="cos", div_factor=25,
                                                final_div_factor=1e4, cycle_momentum=True, base_momentum=0.85,
                                                max_momentum=0.95, **onecycle)
    losses = []
    for step in range(STEPS):
        x, y = batch(step)
        out = model(x)
        loss = F.cross_entropy(out, y, label_smoothing=0.1)
        losses.append(loss.item())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model, losses


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.set_num_threads(1)
    sgd = lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    adam = lambda ps: torch.optim.Adam(ps, lr=0.001, weight_decay=5e-4)
    cases = {f"skipnet48k-{n}": (lambda n=n: twin.skipnet48k(n, 4 if n == "group" else 1, 0.0), sgd,
                                 dict(max_lr=0.1, pct_start=0.25)) for n in ("batch", "group", "layer")}
    cases["resnet9w4-batch"] = (lambda: resnet9(4), adam, dict(max_lr=0.01, pct_start=0.2083))
    out = {}
    for case, (make, make_opt, onecycle) in cases.items():
        model, losses = run(make(), make_opt, onecycle)
        for name, p in model.named_parameters():
            out[f"{case}/{name}"] = p
        for name, b in model.named_buffers():
            if b.dtype.is_floating_point:
                out[f"{case}/buffer/{name}"] = b
        out[f"{case}/losses"] = torch.tensor(losses, dtype=torch.float64)
        print(f"{case}: loss {losses[0]:.6f} -> {losses[-1]:.6f}, {sum(p.numel() for p in model.parameters())} params")
    write_safetensors(os.path.join(HERE, "train_parity.safetensors"), out,
                      {"generator": "tests/reference/train_parity_reference.py", "torch": torch.__version__})


if __name__ == "__main__":
    main()

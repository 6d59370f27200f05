#!/usr/bin/env python3
"""bench_train_torch: the PyTorch twin of apps/bench_train (minidl): one epoch of train_cifar's default
recipe, data loading and augmentation included, then a test pass; same flags and JSON fields.

What is the same as bench_train, and how:
  model     the zoo's skipnet48k and minidl50k rebuilt layer for layer from layers/models/*.cpp
            (bias-free convs, Dropout2d 0.05 in skipnet48k, group norm with 4 groups, "layer norm"
            = GroupNorm with 1 group as in layers/norm.cpp make_norm); the parameter count is
            checked against minidl's (48,136 and 47,890) before anything runs.
  data      the same CIFAR-10 binary files (1 label byte + 3,072 pixel bytes per record), read
            once before the clock starts; a shuffled order per epoch from --seed; batch 128.
  augment   pad-4 random crop + horizontal flip + normalize (CIFAR-10 mean/std), drawn per image,
            computed on the CPU by --workers DataLoader worker processes, one whole batch per call
            (BatchAugment below: a slice copy per image, then batched tensor ops), as minidl's
            loader prepares a whole batch per task on its worker threads. Per-sample transforms
            (torchvision style: one Python call chain per image, then collation) would add
            interpreter overhead per image and make PyTorch look slower than its kernels are; this
            is the fast form, so the data pipeline costs about what minidl's does and, as in
            minidl, it shares the cores with the training threads. torch's workers are processes,
            started when an epoch's iterator is made (DataLoader's defaults, as a plain PyTorch
            script has them; minidl's loader starts its threads at each epoch too); that start is
            inside the clock on both sides. The test set is only normalized.
  recipe    torch.optim.SGD(lr 0.05, momentum 0.9, nesterov, weight decay 5e-4) + OneCycleLR
            (max_lr 0.2, pct_start 0.25, div 25, final div 1e4, cos, momentum 0.85-0.95) over the
            default 20-epoch schedule, stepped per batch; cross-entropy with label smoothing 0.1;
            the per-step loss.item() and accuracy count train_cifar does; test batches of 500
            in eval mode under torch.no_grad(). The numbers are train::Recipe's defaults
            (apps/train/config.h); both JSON files carry them and apps/bench_train_table.py
            refuses to compare runs whose recipes differ.
  timing    time.perf_counter around the training steps and around the test pass, separately;
            images/s leaves out the first --warmup steps.

  /usr/bin/python3 apps/bench_train_torch.py --model skipnet48k --norm group --threads 2 --json torch.json
  /usr/bin/python3 apps/bench_train_torch.py --steps 3 --test-images 500      # a quick check that it runs
Run with OMP_WAIT_POLICY=passive on a busy machine, like bench_train (tools/bench_train.sh does).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

# train::Recipe's defaults (apps/train/config.h) and train_cifar's test loader (apps/train/run.cpp).
RECIPE = {
    "batch_size": 128, "optimizer": "sgd", "nesterov": True, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
    "scheduler": "onecycle", "max_lr": 0.2, "pct_start": 0.25, "div_factor": 25.0, "final_div_factor": 1e4,
    "anneal": "cos", "schedule_epochs": 20, "label_smoothing": 0.1, "augment": "flip-crop", "test_batch_size": 500,
}
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)  # kernels/augment.h
CIFAR_STD = (0.2470, 0.2435, 0.2616)

# The zoo's defaults (layers/models/zoo.cpp), and the parameters and mult-adds at batch 128 that
# `model_summary --model M --norm N` reports for every norm.
ZOO = {
    "skipnet48k": {"groups": 4, "dropout": 0.05, "params": 48136, "mult_adds_m": 982.64},
    "minidl50k": {"groups": 4, "dropout": 0.0, "params": 47890, "mult_adds_m": 2215.36},
}


# ---- models: layers/models/skipnet48k.cpp and minidl50k.cpp ----------------------------------------

def make_norm(kind, channels, groups):
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.GroupNorm(groups if kind == "group" else 1, channels)  # minidl's layer norm: one group


def conv(cin, cout, k, pad, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=False)


class SkipBlock(nn.Module):
    """relu(drop2(norm2(conv2(relu(drop1(norm1(conv1(x))))))) + shortcut(x))"""

    def __init__(self, cin, cout, stride, norm, groups, p):
        super().__init__()
        self.conv1, self.norm1, self.drop1 = conv(cin, cout, 3, 1, stride), make_norm(norm, cout, groups), nn.Dropout2d(p)
        self.conv2, self.norm2, self.drop2 = conv(cout, cout, 3, 1), make_norm(norm, cout, groups), nn.Dropout2d(p)
        self.downsampler = conv(cin, cout, 1, 0, stride) if cin != cout or stride != 1 else None

    def forward(self, x):
        h = F.relu(self.drop1(self.norm1(self.conv1(x))))
        h = self.drop2(self.norm2(self.conv2(h)))
        return F.relu(h + (self.downsampler(x) if self.downsampler is not None else x))


def skipnet48k(norm, groups, p):
    net = nn.Sequential()
    net.add_module("conv1", nn.Sequential(conv(3, 8, 3, 1), make_norm(norm, 8, groups), nn.Dropout2d(p), nn.ReLU()))
    for name, cin, cout, stride in [("conv2", 8, 8, 1), ("tran1", 8, 16, 2), ("conv3", 16, 16, 1),
                                    ("conv4", 16, 16, 1), ("conv5", 16, 16, 1), ("tran2", 16, 16, 2),
                                    ("conv6", 16, 16, 1), ("conv7", 16, 16, 1), ("conv8", 16, 32, 1)]:
        net.add_module(name, SkipBlock(cin, cout, stride, norm, groups, p))
    net.add_module("tran3", nn.Sequential(nn.AdaptiveAvgPool2d(1), conv(32, 10, 1, 0), nn.Flatten(), nn.LogSoftmax(1)))
    return net


def separable(cin, cout, stride):
    """Depthwise 3x3 (carrying the stride), then pointwise 1x1."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False), conv(cin, cout, 1, 0))


class BasicBlock(nn.Module):
    """relu(norm2(conv2(relu(norm1(conv1(x))))) + shortcut(x)); conv2 may be depthwise-separable."""

    def __init__(self, cin, cout, stride, separable2, norm, groups):
        super().__init__()
        self.conv1, self.norm1 = conv(cin, cout, 3, 1, stride), make_norm(norm, cout, groups)
        self.conv2 = separable(cout, cout, 1) if separable2 else conv(cout, cout, 3, 1)
        self.norm2 = make_norm(norm, cout, groups)
        self.shortcut = (nn.Sequential(conv(cin, cout, 1, 0, stride), make_norm(norm, cout, groups))
                         if cin != cout or stride != 1 else None)

    def forward(self, x):
        h = F.relu(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        return F.relu(h + (self.shortcut(x) if self.shortcut is not None else x))


class Residual(nn.Module):
    """layers/residual.h: main(x) + shortcut(x) (identity without one), then ReLU."""

    def __init__(self, main, shortcut=None):
        super().__init__()
        self.main, self.shortcut = main, shortcut

    def forward(self, x):
        return F.relu(self.main(x) + (self.shortcut(x) if self.shortcut is not None else x))


def minidl50k(norm, groups, p):
    del p  # minidl50k has no dropout
    n = lambda c: make_norm(norm, c, groups)
    return nn.Sequential(
        nn.Sequential(conv(3, 24, 3, 1), n(24), nn.ReLU()),                      # stem
        BasicBlock(24, 24, 1, False, norm, groups),                              # stage1
        BasicBlock(24, 48, 2, True, norm, groups),                               # stage2
        Residual(nn.Sequential(separable(48, 48, 1), n(48), nn.ReLU(), separable(48, 48, 1), n(48))),  # stage2b
        Residual(nn.Sequential(separable(48, 80, 2), n(80), nn.ReLU(), separable(80, 80, 1), n(80)),   # stage3
                 nn.Sequential(conv(48, 80, 1, 0, 2), n(80))),
        nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(80, 10)),  # head
    )


def mult_adds(model, batch=128):
    """The mult-adds of a forward at `batch`, counted as layers/summary.cpp (torchinfo) counts them: a conv's
    parameters x its output pixels, any other layer's parameters, per image. Checks strides and paddings too."""
    total = 0

    def hook(m, _, out):
        nonlocal total
        n = sum(t.numel() for t in m.parameters(recurse=False))
        total += n * (out.shape[2] * out.shape[3] if isinstance(m, nn.Conv2d) else 1)

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    model.eval()  # no dropout draw, no running-statistics update: the probe changes nothing
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total * batch


def make_model(name, norm):
    """The twin of minidl's zoo model; refuses to run when its parameters or mult-adds differ from minidl's."""
    z = ZOO[name]
    model = {"skipnet48k": skipnet48k, "minidl50k": minidl50k}[name](norm, z["groups"], z["dropout"])
    params = sum(t.numel() for t in model.parameters())
    madds = mult_adds(model) / 1e6
    if params != z["params"] or round(madds, 2) != z["mult_adds_m"]:
        raise SystemExit(f"bench_train_torch: {name} with {norm} norm has {params:,} parameters and {madds:.2f}M "
                         f"mult-adds but minidl's has {z['params']:,} and {z['mult_adds_m']:.2f}M: the twin no longer "
                         f"matches layers/models/{name}.cpp")
    return model, params


# ---- data: the official CIFAR-10 binary files, as data/cifar10.cpp reads them ---------------------

def load_cifar10(folder, split, limit=-1):
    """(uint8 images [N, 3, 32, 32], int64 labels [N]); `folder` is cifar-10-batches-bin or its parent."""
    sub = os.path.join(folder, "cifar-10-batches-bin")
    d = sub if os.path.isdir(sub) else folder
    if not os.path.isdir(d):
        raise SystemExit(f"bench_train_torch: --data '{folder}': no such folder (expected cifar-10-batches-bin or "
                         f"its parent; prepare it with data/prepare_cifar10.sh)")
    files = [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"]
    records = []
    for name in files:
        path = os.path.join(d, name)
        if not os.path.isfile(path):
            raise SystemExit(f"bench_train_torch: missing CIFAR-10 file '{path}' (prepare the dataset with "
                             f"data/prepare_cifar10.sh)")
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % 3073:
            raise SystemExit(f"bench_train_torch: '{path}' holds {raw.size} bytes, not a whole number of "
                             f"3,073-byte records")
        records.append(raw.reshape(-1, 3073))
    rec = np.concatenate(records)
    if limit >= 0:
        rec = rec[:limit]
    labels = torch.from_numpy(rec[:, 0].astype(np.int64))
    images = torch.from_numpy(np.ascontiguousarray(rec[:, 1:])).view(-1, 3, 32, 32)
    return images, labels


class BatchAugment(Dataset):
    """Indexed by a list of sample indices (one batch): returns the batch normalized and, for training,
    augmented per image: pad 4 with zeros, a random 32x32 window (a shift dy, dx in [-4, 4]), then a
    mirror with probability 1/2, then (v / 255 - mean) / std, as kernels/augment.h does."""

    def __init__(self, images, labels, augment, pad_fill="zero"):
        self.images, self.labels, self.augment = images, labels, augment
        self.mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
        # train_cifar's --pad-fill: "zero" pads with black pixels (torchvision's RandomCrop default),
        # "mean" with the dataset's mean colour, i.e. zeros after normalization.
        self.pad_fill = pad_fill

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, indices):
        idx = torch.as_tensor(indices)
        x = self.images[idx]
        if self.augment:
            # Per image: a 32x32 window of the zero-padded image (a slice copy each; measured about twice
            # as fast as one advanced-indexing gather), then the mirror of the chosen ones.
            if self.pad_fill == "mean":  # the padding normalizes to exactly 0, as minidl's kernel writes it
                x = (x.float().div_(255) - self.mean).div_(self.std)
            padded = F.pad(x, (4, 4, 4, 4))
            origins = torch.randint(0, 9, (len(idx), 2)).tolist()  # window origin = (dy + 4, dx + 4)
            mirror = torch.rand(len(idx)) < 0.5
            x = torch.empty_like(x)
            for i, (r, c) in enumerate(origins):
                x[i] = padded[i, :, r:r + 32, c:c + 32]
            x[mirror] = x[mirror].flip(3)
        if not (self.augment and self.pad_fill == "mean"):
            x = (x.float().div_(255) - self.mean).div_(self.std)
        return x, self.labels[idx]


def loader(dataset, batch, shuffle, workers, seed):
    g = torch.Generator()
    g.manual_seed(seed)  # the shuffle and the workers' seeds (hence the augmentation) follow --seed
    indices = range(len(dataset))
    sampler = BatchSampler(RandomSampler(indices, generator=g) if shuffle else SequentialSampler(indices), batch, False)
    # batch_size=None: each sampler item (a list of indices) goes to BatchAugment as one batch.
    kw = {"prefetch_factor": 2} if workers > 0 else {}
    return DataLoader(dataset, batch_size=None, sampler=sampler, num_workers=workers, generator=g, **kw)


class Waited:
    """Iterates a DataLoader and adds up the time spent blocked in next() (bench_train's data wait)."""

    def __init__(self, dl):
        self.it, self.seconds = iter(dl), 0.0

    def next(self):
        t = time.perf_counter()
        try:
            return next(self.it)
        except StopIteration:
            return None
        finally:
            self.seconds += time.perf_counter() - t

    def close(self):
        del self.it  # shuts the worker processes down


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="skipnet48k", choices=sorted(ZOO))
    p.add_argument("--norm", default="batch", choices=["batch", "group", "layer"])
    p.add_argument("--steps", type=int, default=0, help="training steps (0: one epoch, 391 steps at batch 128)")
    p.add_argument("--warmup", type=int, default=5, help="steps left out of the images/s figure")
    p.add_argument("--test-images", type=int, default=-1, help="test on the first N test images (-1: all)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (0: the training process)")
    p.add_argument("--data", default="datasets", help="CIFAR-10 binary folder (cifar-10-batches-bin) or its parent")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--json", help="write the results to this JSON file")
    args = p.parse_args()
    if args.steps < 0 or args.warmup < 0 or args.threads < 0 or args.workers < 0 or args.test_images < -1:
        p.error("--steps, --warmup, --threads and --workers must be >= 0, --test-images >= -1")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA GPU is available to this PyTorch")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    R = RECIPE

    train_set = BatchAugment(*load_cifar10(args.data, "train"), augment=True)
    test_set = BatchAugment(*load_cifar10(args.data, "test", args.test_images), augment=False)
    if len(train_set) == 0 or len(test_set) == 0:
        raise SystemExit(f"bench_train_torch: --data '{args.data}': no images to train or test on")
    per_epoch = math.ceil(len(train_set) / R["batch_size"])
    steps = args.steps or per_epoch
    if steps > R["schedule_epochs"] * per_epoch:
        raise SystemExit(f"bench_train_torch: --steps {steps} is longer than the {R['schedule_epochs']}-epoch schedule")
    warmup = args.warmup if args.warmup < steps else 0

    torch.manual_seed(args.seed)
    model, params = make_model(args.model, args.norm)
    model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=R["lr"], momentum=R["momentum"], nesterov=R["nesterov"],
                          weight_decay=R["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=R["max_lr"], epochs=R["schedule_epochs"], steps_per_epoch=per_epoch, pct_start=R["pct_start"],
        anneal_strategy=R["anneal"], div_factor=R["div_factor"], final_div_factor=R["final_div_factor"],
        three_phase=False, cycle_momentum=True, base_momentum=0.85, max_momentum=0.95)
    z = ZOO[args.model]
    groups = z["groups"] if args.norm == "group" else 1 if args.norm == "layer" else 0
    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"bench_train_torch: {args.model}, {args.norm} norm, {params:,} params, {device_name} "
          f"({torch.get_num_threads()} threads), {args.workers} loader workers, {steps} steps of batch "
          f"{R['batch_size']} + a test pass over {len(test_set):,} images (PyTorch {torch.__version__})", flush=True)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    # Training: the step of train_cifar (apps/train/run.cpp), loss read-back and accuracy count included.
    model.train()
    loss_sum, correct, seen, warm_seconds, warm_images, data_wait, epoch = 0.0, 0, 0, 0.0, 0, 0.0, 0
    t_train = time.perf_counter()
    batches = Waited(loader(train_set, R["batch_size"], True, args.workers, args.seed))
    for step in range(steps):
        if step == warmup:
            warm_seconds, warm_images = time.perf_counter() - t_train, seen
        b = batches.next()
        if b is None:  # more steps than an epoch: on into the next one
            data_wait += batches.seconds
            epoch += 1
            batches.close()
            batches = Waited(loader(train_set, R["batch_size"], True, args.workers, args.seed + epoch))
            b = batches.next()
        x, y = b[0].to(dev, non_blocking=True), b[1].to(dev, non_blocking=True)
        out = model(x)
        loss = F.cross_entropy(out, y, label_smoothing=R["label_smoothing"])
        l = loss.item()
        if not math.isfinite(l):
            raise SystemExit(f"bench_train_torch: the training loss is {l} at step {step + 1}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss_sum += l * len(y)
        correct += (out.argmax(1) == y).sum().item()
        seen += len(y)
    sync()
    train_seconds = time.perf_counter() - t_train
    data_wait += batches.seconds
    batches.close()  # the workers may be preparing the rest of the epoch: not the test pass's cost

    # The test pass: eval mode, no autograd, batches of 500 in order.
    test_loss, test_correct, test_seen = 0.0, 0, 0
    t_test = time.perf_counter()
    model.eval()
    with torch.no_grad():
        for x, y in loader(test_set, R["test_batch_size"], False, args.workers, args.seed):
            x, y = x.to(dev), y.to(dev)
            out = model(x)
            test_loss += F.cross_entropy(out, y).item() * len(y)
            test_correct += (out.argmax(1) == y).sum().item()
            test_seen += len(y)
    sync()
    model.train()
    test_seconds = time.perf_counter() - t_test

    timed = train_seconds - warm_seconds
    ips = (seen - warm_images) / timed if timed > 0 else 0.0
    result = {
        "framework": "pytorch", "model": args.model, "norm": args.norm, "groups": groups, "dropout": z["dropout"],
        "params": params, "device": device_name, "threads": torch.get_num_threads(), "workers": args.workers,
        "seed": args.seed, "steps": steps, "warmup_steps": warmup, "train_images": seen, "test_images": test_seen,
        "train_seconds": train_seconds, "test_seconds": test_seconds, "total_seconds": train_seconds + test_seconds,
        "images_per_second": ips, "data_wait_seconds": data_wait,
        "train_loss": loss_sum / seen, "train_acc": 100.0 * correct / seen,
        "test_loss": test_loss / test_seen, "test_acc": 100.0 * test_correct / test_seen,
        "recipe": dict(R, steps_per_epoch=per_epoch), "version": torch.__version__,
    }
    print(f"train {train_seconds:.2f} s ({steps} steps, {seen} images; {ips:.0f} img/s after {warmup} warm-up steps; "
          f"data wait {data_wait:.2f} s)\ntest  {test_seconds:.2f} s ({test_seen} images)\n"
          f"total {train_seconds + test_seconds:.2f} s\n"
          f"train loss {result['train_loss']:.4f} acc {result['train_acc']:.2f}%, "
          f"test loss {result['test_loss']:.4f} acc {result['test_acc']:.2f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

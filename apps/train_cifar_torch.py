#!/usr/bin/env python3
"""train_cifar_torch: the PyTorch twin of a whole train_cifar run (SGD + OneCycle recipes), to compare
training curves with minidl's: the same model (apps/bench_train_torch.py rebuilds the zoo layer for
layer and checks the parameter count), the same CIFAR-10 binary files, the same recipe flags with
train_cifar's names and defaults, the same per-epoch numbers in the same metrics.json fields.

  recipe    torch.optim.SGD(momentum, nesterov, weight decay) + OneCycleLR(max_lr, pct_start,
            div_factor, final_div_factor, cos, momentum 0.85-0.95), stepped per batch; cross-entropy
            with --label-smoothing on the model's log-softmax output; batch 128; the model's dropout
            (or --dropout). Augmentation: pad 4 + random 32x32 crop + horizontal flip, per image,
            padded with black pixels (--pad-fill zero, torchvision's RandomCrop default) or with the
            mean colour (--pad-fill mean); then normalize. The test pass: eval mode, batches of 500.
  random    torch.manual_seed(--seed) draws the initial weights and the dropout masks; the shuffle
            and the augmentation of epoch e come from --seed + e (DataLoader worker processes).
            Neither is minidl's stream: runs of the two libraries agree in distribution, not in bits.
  output    --out DIR/metrics.json: {"framework", "recipe", "epochs": [{epoch, train_loss, train_acc,
            test_loss, test_acc, lr, seconds}], "final": {...}}, rewritten after every epoch.

  /usr/bin/python3 apps/train_cifar_torch.py --model skipnet48k --norm layer --max-lr 0.1 \\
      --label-smoothing 0 --seed 1 --threads 1 --out results/parity/torch-skipnet48k-layer-seed1
Set OMP_WAIT_POLICY=passive when the machine is shared.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train_torch as twin  # noqa: E402  (the models and the data pipeline)


def build_model(name, norm, dropout):
    z = twin.ZOO[name]
    p = z["dropout"] if dropout < 0 else dropout
    model = {"skipnet48k": twin.skipnet48k, "minidl50k": twin.minidl50k}[name](norm, z["groups"], p)
    params = sum(t.numel() for t in model.parameters())
    if params != z["params"]:
        raise SystemExit(f"train_cifar_torch: {name} with {norm} norm has {params:,} parameters, minidl's has "
                         f"{z['params']:,}: the twin no longer matches layers/models/{name}.cpp")
    return model, params, p


def atomic_json(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="skipnet48k", choices=sorted(twin.ZOO))
    p.add_argument("--norm", default="batch", choices=["batch", "group", "layer"])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05, help="SGD's lr (OneCycle replaces it)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--max-lr", type=float, default=0.2)
    p.add_argument("--pct-start", type=float, default=0.25)
    p.add_argument("--div-factor", type=float, default=25.0)
    p.add_argument("--final-div-factor", type=float, default=1e4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--dropout", type=float, default=-1, help="< 0: the model's default")
    p.add_argument("--augment", default="flip-crop", choices=["flip-crop", "none"])
    p.add_argument("--pad-fill", default="zero", choices=["zero", "mean"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--workers", type=int, default=1, help="DataLoader worker processes")
    p.add_argument("--data", default="datasets")
    p.add_argument("--stop-after", type=int, default=-1, help="stop after this epoch (-1: never), as train_cifar's")
    p.add_argument("--out", required=True, help="folder for metrics.json")
    a = p.parse_args()
    if a.epochs < 1 or a.batch_size < 1 or a.threads < 0 or a.workers < 0:
        p.error("--epochs and --batch-size must be >= 1, --threads and --workers >= 0")
    if a.threads:
        torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)

    train_set = twin.BatchAugment(*twin.load_cifar10(a.data, "train"), augment=a.augment == "flip-crop",
                                  pad_fill=a.pad_fill)
    test_set = twin.BatchAugment(*twin.load_cifar10(a.data, "test"), augment=False)
    per_epoch = math.ceil(len(train_set) / a.batch_size)
    torch.manual_seed(a.seed)
    model, params, dropout = build_model(a.model, a.norm, a.dropout)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, nesterov=True,
                          weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=a.max_lr, epochs=a.epochs, steps_per_epoch=per_epoch, pct_start=a.pct_start,
        anneal_strategy="cos", div_factor=a.div_factor, final_div_factor=a.final_div_factor,
        cycle_momentum=True, base_momentum=0.85, max_momentum=0.95)
    recipe = {k: v for k, v in vars(a).items() if k not in ("out", "threads", "workers", "data", "stop_after")}
    recipe["dropout"] = dropout
    out = {"framework": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
           "params": params, "recipe": recipe, "command": " ".join(sys.argv), "epochs": []}
    print(f"train_cifar_torch: {a.model}, {a.norm} norm, {params:,} params, {a.epochs} epochs, seed {a.seed}, "
          f"pad fill {a.pad_fill} (PyTorch {torch.__version__}, {torch.get_num_threads()} threads)", flush=True)
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for x, y in twin.loader(train_set, a.batch_size, True, a.workers, a.seed + epoch):
            logp = model(x)
            loss = F.cross_entropy(logp, y, label_smoothing=a.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            correct += (logp.argmax(1) == y).sum().item()
            seen += len(y)
        model.eval()
        test_loss, test_correct, test_seen = 0.0, 0, 0
        with torch.no_grad():
            for x, y in twin.loader(test_set, 500, False, 0, a.seed):
                logp = model(x)
                test_loss += F.cross_entropy(logp, y).item() * len(y)
                test_correct += (logp.argmax(1) == y).sum().item()
                test_seen += len(y)
        r = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": 100.0 * correct / seen,
             "test_loss": test_loss / test_seen, "test_acc": 100.0 * test_correct / test_seen,
             "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        out["epochs"].append(r)
        out["final"] = {"test_acc": r["test_acc"], "train_acc": r["train_acc"], "epochs_done": epoch + 1,
                        "finished": epoch + 1 == a.epochs}
        atomic_json(os.path.join(a.out, "metrics.json"), out)
        print(f"epoch {epoch + 1:3d}/{a.epochs}  train loss {r['train_loss']:.4f} acc {r['train_acc']:6.2f}%  "
              f"test loss {r['test_loss']:.4f} acc {r['test_acc']:6.2f}%  {r['seconds']:.0f} s", flush=True)
        if a.stop_after > 0 and epoch + 1 >= a.stop_after:
            print(f"stopped after epoch {epoch + 1} (--stop-after)")
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())

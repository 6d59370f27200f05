#!/usr/bin/python3
"""Writes tests/reference/composite_loss.safetensors: PyTorch 1.13's values and input gradients of
the composed losses (kernels/composite_loss.h) in float64, for tests/test_composite_loss.cpp. Run
once with Debian's python3-torch (/usr/bin/python3 tests/reference/loss_reference.py); the file is
committed, so the test suite needs no PyTorch.

Per case: "<case>/input", "<case>/target" (and "<case>/weight", "<case>/pos_weight" where used),
"<case>/<reduction>" = the loss for each reduction, "<case>/grad" = d(mean-reduced loss)/d(input)
("batchmean" for kl_div). The metadata field "cases" lists them as JSON: [{"name", "loss", "param"}].
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_parity_reference import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    g = torch.Generator().manual_seed(3)
    r = lambda *s: torch.rand(*s, generator=g, dtype=torch.float64)
    x, y = (r(4, 5) * 6 - 3), (r(4, 5) * 6 - 3)
    y[0, :3] = x[0, :3] + torch.tensor([0.0, 0.5, -2.0], dtype=torch.float64)  # |d| below, at, above delta
    probs = r(4, 5) * 0.98 + 0.01
    labels = (r(4, 5) > 0.5).double()
    soft = r(4, 5)
    logp = F.log_softmax(r(4, 5) * 4, dim=1)
    q = F.softmax(r(4, 5) * 4, dim=1)
    q[1, 2] = 0.0  # a zero target probability contributes 0
    cases = [
        ("mse", "mse_loss", 0, x, y, {}, lambda i, t, red: F.mse_loss(i, t, reduction=red)),
        ("l1", "l1_loss", 0, x, y, {}, lambda i, t, red: F.l1_loss(i, t, reduction=red)),
        ("huber", "huber_loss", 1.0, x, y, {}, lambda i, t, red: F.huber_loss(i, t, reduction=red, delta=1.0)),
        ("huber_0.7", "huber_loss", 0.7, x, y, {}, lambda i, t, red: F.huber_loss(i, t, reduction=red, delta=0.7)),
        ("smooth_l1", "smooth_l1_loss", 1.0, x, y, {}, lambda i, t, red: F.smooth_l1_loss(i, t, reduction=red)),
        ("smooth_l1_0.5", "smooth_l1_loss", 0.5, x, y, {},
         lambda i, t, red: F.smooth_l1_loss(i, t, reduction=red, beta=0.5)),
        ("bce", "binary_cross_entropy", 0, probs, labels, {}, lambda i, t, red: F.binary_cross_entropy(i, t, reduction=red)),
        ("bce_soft_weight", "binary_cross_entropy", 0, probs, soft, {"weight": r(5)},
         lambda i, t, red, weight=None: F.binary_cross_entropy(i, t, weight=weight, reduction=red)),
        ("bce_logits", "binary_cross_entropy_with_logits", 0, x * 10, labels, {},
         lambda i, t, red: F.binary_cross_entropy_with_logits(i, t, reduction=red)),
        ("bce_logits_pos", "binary_cross_entropy_with_logits", 0, x, soft, {"pos_weight": r(5) * 3, "weight": r(4, 1)},
         lambda i, t, red, weight=None, pos_weight=None: F.binary_cross_entropy_with_logits(
             i, t, weight=weight, pos_weight=pos_weight, reduction=red)),
        ("kl", "kl_div", 0, logp, q, {}, lambda i, t, red: F.kl_div(i, t, reduction=red)),
        ("kl_log", "kl_div", 1, logp, torch.log(q + 0.05), {},
         lambda i, t, red: F.kl_div(i, t, reduction=red, log_target=True)),
    ]
    tensors, meta = {}, []
    for name, loss, param, inp, tgt, extra, fn in cases:
        tensors[name + "/input"], tensors[name + "/target"] = inp, tgt
        for k, v in extra.items():
            tensors[f"{name}/{k}"] = v
        reductions = ["none", "sum", "mean"] + (["batchmean"] if loss == "kl_div" else [])
        for red in reductions:
            tensors[f"{name}/{red}"] = fn(inp, tgt, red, **extra).detach()
        i = inp.clone().requires_grad_()
        (grad,) = torch.autograd.grad(fn(i, tgt, "batchmean" if loss == "kl_div" else "mean", **extra), i)
        tensors[name + "/grad"] = grad
        meta.append({"name": name, "loss": loss, "param": param, "extra": sorted(extra)})
    write_safetensors(os.path.join(HERE, "composite_loss.safetensors"),
                      {k: v.reshape(v.shape) for k, v in tensors.items()},
                      {"cases": json.dumps(meta), "torch": torch.__version__})
    print(f"wrote composite_loss.safetensors: {len(meta)} cases (PyTorch {torch.__version__})")


if __name__ == "__main__":
    main()

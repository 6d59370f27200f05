#!/usr/bin/python3
"""Writes tests/reference/unary.safetensors: PyTorch 1.13's values and gradients of the pointwise
unary ops (kernels/unary.h) in float64, for tests/test_unary.cpp. Run once with Debian's
python3-torch (/usr/bin/python3 tests/reference/unary_reference.py); the file is committed, so the
test suite needs no PyTorch.

Each case is an op with its parameters, applied to a fixed list of inputs (the kinks and the
saturated tails included): "<case>/x", "<case>/y" = op(x), "<case>/dx" = d(sum(op(x)))/dx. The
metadata field "cases" lists them as JSON: [{"name", "op", "a", "b"}], where op is minidl's name
(kernels/unary_math.h) and a, b its scalar parameters.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_parity_reference import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ANY = [-30.0, -5.0, -3.0, -2.5, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 2.5, 3.0, 5.0, 30.0]
POSITIVE = [1e-3, 0.1, 0.5, 1.0, 2.0, 10.0, 1e3]
ABOVE_MINUS_ONE = [-0.9, -0.5, -1e-3, 0.0, 1e-3, 0.5, 2.0, 1e3]

# (case name, minidl op, a, b, inputs, the PyTorch function)
CASES = [
    ("exp", "exp", 0, 0, ANY, torch.exp),
    ("log", "log", 0, 0, POSITIVE, torch.log),
    ("log1p", "log1p", 0, 0, ABOVE_MINUS_ONE, torch.log1p),
    ("sqrt", "sqrt", 0, 0, POSITIVE, torch.sqrt),
    ("rsqrt", "rsqrt", 0, 0, POSITIVE, torch.rsqrt),
    ("abs", "abs", 0, 0, ANY, torch.abs),
    ("neg", "neg", 0, 0, ANY, torch.neg),
    ("sign", "sign", 0, 0, ANY, torch.sign),
    ("sigmoid", "sigmoid", 0, 0, ANY, torch.sigmoid),
    ("tanh", "tanh", 0, 0, ANY, torch.tanh),
    ("gelu", "gelu", 0, 0, ANY, lambda x: F.gelu(x)),
    ("gelu_tanh", "gelu_tanh", 0, 0, ANY, lambda x: F.gelu(x, approximate="tanh")),
    ("leaky_relu", "leaky_relu", 0.01, 0, ANY, lambda x: F.leaky_relu(x)),
    ("leaky_relu_0.2", "leaky_relu", 0.2, 0, ANY, lambda x: F.leaky_relu(x, 0.2)),
    ("elu", "elu", 1.0, 0, ANY, lambda x: F.elu(x)),
    ("elu_0.5", "elu", 0.5, 0, ANY, lambda x: F.elu(x, 0.5)),
    ("softplus", "softplus", 1.0, 20.0, ANY, lambda x: F.softplus(x)),
    ("softplus_2_3", "softplus", 2.0, 3.0, ANY, lambda x: F.softplus(x, beta=2.0, threshold=3.0)),
    ("hardswish", "hardswish", 0, 0, ANY, F.hardswish),
    ("mish", "mish", 0, 0, ANY, F.mish),
    ("pow_2", "pow", 2.0, 0, ANY, lambda x: torch.pow(x, 2.0)),
    ("pow_3", "pow", 3.0, 0, ANY, lambda x: torch.pow(x, 3.0)),
    ("pow_0.5", "pow", 0.5, 0, POSITIVE, lambda x: torch.pow(x, 0.5)),
    ("pow_-1.5", "pow", -1.5, 0, POSITIVE, lambda x: torch.pow(x, -1.5)),
    ("pow_0", "pow", 0.0, 0, ANY, lambda x: torch.pow(x, 0.0)),
    ("clamp", "clamp", -1.0, 2.0, ANY, lambda x: torch.clamp(x, -1.0, 2.0)),
    ("clamp_min", "clamp", 0.0, math.inf, ANY, lambda x: torch.clamp(x, min=0.0)),
]


def main():
    tensors, cases = {}, []
    for name, op, a, b, inputs, fn in CASES:
        x = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
        y = fn(x)
        (dx,) = torch.autograd.grad(y.sum(), x)
        tensors[name + "/x"], tensors[name + "/y"], tensors[name + "/dx"] = x.detach(), y.detach(), dx
        cases.append({"name": name, "op": op, "a": a, "b": b if math.isfinite(b) else "inf"})
    write_safetensors(os.path.join(HERE, "unary.safetensors"), tensors,
                      {"cases": json.dumps(cases), "torch": torch.__version__})
    print(f"wrote unary.safetensors: {len(cases)} cases (PyTorch {torch.__version__})")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench_ops_torch: times in PyTorch the cases of apps/bench_ops (minidl), same names, shapes and method.

The cases come from a JSON file written by bench_ops (its results, or `bench_ops --list --json`), so
both programs run exactly the same (op, shape, args). Timing, as in bench_ops.cpp: two warm-up calls,
a loop of n calls with n chosen so the loop takes >= 20 ms, the median of --repeats such loops,
divided by n; on CUDA the clock is read only after torch.cuda.synchronize(). Inputs are random leaves
that require grad (not a first conv's image); forward+backward sets the leaves' grads to None and
calls backward with a random upstream gradient. torch.backends.cudnn keeps its defaults.
On a busy CPU, run both programs with OMP_WAIT_POLICY=passive (see bench_ops.cpp).

  bench_ops --device cpu --threads 2 --json minidl.json
  python3 apps/bench_ops_torch.py --cases minidl.json --json torch.json   # --threads: minidl's by default
  python3 apps/bench_table.py --minidl minidl.json --torch torch.json
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def prepare(case, dev):
    """Returns (leaves, forward) for one case: random leaf tensors and a closure computing the op."""
    op, shape, a = case["op"], case["shape"], case["args"]
    leaves = []

    def leaf(*s, grad=True):
        t = torch.randn(*s, device=dev, requires_grad=grad)
        if grad:
            leaves.append(t)
        return t

    x = leaf(*shape, grad=a.get("x_grad", True))
    C = shape[1]
    if op == "conv2d":
        g = a.get("groups", 1)
        w = leaf(a["out"], C // g, a["kernel"], a["kernel"])
        b = leaf(a["out"]) if a["bias"] else None
        return leaves, lambda: F.conv2d(x, w, b, stride=a["stride"], padding=a["pad"], groups=g)
    if op == "batch_norm":
        rm, rv, w, b = torch.zeros(C, device=dev), torch.ones(C, device=dev), leaf(C), leaf(C)
        return leaves, lambda: F.batch_norm(x, rm, rv, w, b, training=True)
    if op == "group_norm":
        w, b = leaf(C), leaf(C)
        return leaves, lambda: F.group_norm(x, a["groups"], w, b)
    if op == "layer_norm":
        w, b = leaf(*shape[1:]), leaf(*shape[1:])
        return leaves, lambda: F.layer_norm(x, shape[1:], w, b)
    simple = {
        "max_pool2d": lambda: F.max_pool2d(x, a.get("kernel")),
        "avg_pool2d": lambda: F.avg_pool2d(x, a.get("kernel")),
        "adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(x, 1),
        "dropout": lambda: F.dropout(x, a.get("p"), training=True),
        "dropout2d": lambda: F.dropout2d(x, a.get("p"), training=True),
        "relu": lambda: F.relu(x),
        "softmax": lambda: F.softmax(x, 1),
        "log_softmax": lambda: F.log_softmax(x, 1),
    }
    if op in simple:
        return leaves, simple[op]
    if op == "add":
        y = leaf(*shape)
        return leaves, lambda: x + y
    if op == "cross_entropy":
        target = torch.tensor([(i * 7) % shape[1] for i in range(shape[0])], device=dev)
        return leaves, lambda: F.cross_entropy(x, target)
    if op == "linear":
        w, b = leaf(a["out"], C), leaf(a["out"])
        return leaves, lambda: F.linear(x, w, b)
    raise ValueError(f"unknown op '{op}' in case '{case['name']}'")


def time_ms(step, cuda, repeats):
    """Milliseconds per call of step: warm-up, calibrate a loop of >= 20 ms, median of `repeats` loops."""
    def loop_ms(n):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        if cuda:
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1e3

    loop_ms(2)  # warm-up
    n = max(1, -(-20.0 // max(loop_ms(1), 1e-3)))
    return statistics.median(loop_ms(int(n)) / n for _ in range(repeats))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", required=True, help="JSON file written by bench_ops (its cases are run)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the device of the --cases file)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: the --cases file's)")
    p.add_argument("--repeats", type=int, default=0, help="timed loops per measurement (0: the --cases file's)")
    p.add_argument("--filter", default="", help="run only the cases whose name contains this substring")
    p.add_argument("--json", help="write the results to this JSON file")
    args = p.parse_args()

    src = json.load(open(args.cases))
    dev = args.device or ("cpu" if src["device"] == "cpu" else "cuda")
    threads = args.threads or src["threads"]
    repeats = args.repeats or src["repeats"]
    torch.set_num_threads(threads)
    cuda = dev.startswith("cuda")
    out = {"framework": f"torch {torch.__version__}", "device": torch.cuda.get_device_name() if cuda else "cpu",
           "threads": torch.get_num_threads(), "repeats": repeats, "results": []}
    seen = set()
    for case in src["results"]:
        if args.filter not in case["name"] or case["name"] in seen:  # engines repeat a case
            continue
        seen.add(case["name"])
        torch.manual_seed(0)
        leaves, forward = prepare(case, dev)
        g = torch.randn_like(forward())  # the upstream gradient

        def fwdbwd():
            y = forward()
            for t in leaves:
                t.grad = None
            y.backward(g)

        r = {k: case[k] for k in ("name", "op", "shape", "args")}
        r["engine"] = "torch"
        r["fwd_ms"] = time_ms(forward, cuda, repeats)
        r["fwdbwd_ms"] = time_ms(fwdbwd, cuda, repeats)
        print(f"{r['name']:<42} {str(r['shape']):<18} torch  fwd {r['fwd_ms']:9.3f} ms  "
              f"fwd+bwd {r['fwdbwd_ms']:9.3f} ms", flush=True)
        out["results"].append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

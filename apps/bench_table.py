#!/usr/bin/env python3
"""bench_table: joins bench_ops (minidl) and bench_ops_torch.py (PyTorch) JSON results into a markdown table.

Several files per side (rounds of an interleaved run) are reduced to the minimum time per case.
ratio = minidl ms / PyTorch ms (above 1: minidl is slower). When the minidl files hold cuDNN-engine
results (bench_ops --device cuda --engine both), conv2d / batch_norm rows also show the cuDNN engine's
forward+backward time and "native / cuDNN throughput" (cuDNN ms / native ms: above 1, native is faster).
A summary per op follows: the sums over its cases.

  python3 apps/bench_table.py --minidl m1.json m2.json --torch t1.json t2.json > table.md
"""
import argparse
import json
from collections import defaultdict


def load(paths):
    """{(name, engine): result} with the minimum fwd_ms / fwdbwd_ms over the files; plus the headers."""
    best, heads = {}, []
    for path in paths:
        data = json.load(open(path))
        heads.append(data)
        for r in data["results"]:
            if "fwd_ms" not in r:
                continue
            key = (r["name"], r["engine"])
            if key in best:
                for k in ("fwd_ms", "fwdbwd_ms"):
                    best[key][k] = min(best[key][k], r[k])
            else:
                best[key] = dict(r)
    return best, heads


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minidl", nargs="+", required=True, help="bench_ops --json files")
    p.add_argument("--torch", nargs="+", required=True, help="bench_ops_torch.py --json files")
    args = p.parse_args()
    mine, mh = load(args.minidl)
    theirs, th = load(args.torch)
    cudnn = any(e == "cudnn" for _, e in mine)

    ms = lambda v: "" if v is None else f"{v:.3f}"
    ratio = lambda a, b: "" if a is None or b is None else f"{a / b:.2f}x"
    print(f"minidl on {mh[0]['device']} ({mh[0]['threads']} threads), {th[0]['framework']} on {th[0]['device']} "
          f"({th[0]['threads']} threads); min over {len(mh)} / {len(th)} runs; ms per call\n")
    cols = ["case", "shape", "minidl fwd", "torch fwd", "ratio", "minidl fwd+bwd", "torch fwd+bwd", "ratio"]
    if cudnn:
        cols += ["cuDNN fwd+bwd", "native / cuDNN throughput"]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    sums = defaultdict(lambda: [0.0, 0.0, 0])  # op -> minidl fwd+bwd, torch fwd+bwd, cases
    names = list(dict.fromkeys(n for n, _ in mine))  # bench_ops order
    for name in names:
        m = mine.get((name, "native")) or mine.get((name, "cudnn"))
        t = theirs.get((name, "torch"), {})
        c = mine.get((name, "cudnn"), {}) if (name, "native") in mine else {}
        row = [name, str(m["shape"]), ms(m["fwd_ms"]), ms(t.get("fwd_ms")), ratio(m["fwd_ms"], t.get("fwd_ms")),
               ms(m["fwdbwd_ms"]), ms(t.get("fwdbwd_ms")), ratio(m["fwdbwd_ms"], t.get("fwdbwd_ms"))]
        if cudnn:
            row += [ms(c.get("fwdbwd_ms")), ratio(c.get("fwdbwd_ms"), m["fwdbwd_ms"] if c else None)]
        print("| " + " | ".join(row) + " |")
        if t:
            s = sums[("r9 " if name.startswith("r9 ") else "") + m["op"]]
            s[0], s[1], s[2] = s[0] + m["fwdbwd_ms"], s[1] + t["fwdbwd_ms"], s[2] + 1
    print("\nSummary per op (forward+backward, summed over its cases):\n")
    print("| op | cases | minidl ms | torch ms | ratio |\n|---|---|---|---|---|")
    for op, (a, b, n) in sums.items():
        print(f"| {op} | {n} | {a:.3f} | {b:.3f} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()

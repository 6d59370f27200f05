#!/usr/bin/env python3
"""bench_train_table: the markdown table of the whole-epoch benchmark (docs/performance.md) from the JSON
files of apps/bench_train (minidl) and apps/bench_train_torch.py (PyTorch) that tools/bench_train.sh
writes into one folder, with that folder's meta.json (command line, machine, commit).

Per model and norm: the median over the rounds of each framework's epoch time (training steps + test
pass) with the range of the runs, the medians of the two parts and of the training images/s, and
ratio = minidl median / PyTorch median (below 1: minidl is faster). Runs are compared only when they
did the same work: same recipe, steps, test images, threads and loader workers; anything else is an
error naming the files.

  python3 apps/bench_train_table.py runs/bench-train-20250101-120000 > table.md
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
from collections import defaultdict

FRAMEWORKS = ("minidl", "pytorch")
# What two runs must share to be compared (the recipe too, checked separately).
SAME_WORK = ("steps", "warmup_steps", "train_images", "test_images", "threads", "workers", "seed", "params")


def fail(msg):
    sys.exit(f"bench_train_table: {msg}")


def load(folder):
    if not os.path.isdir(folder):
        fail(f"'{folder}': no such folder (give the --out folder of tools/bench_train.sh)")
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        if os.path.basename(path) == "meta.json":
            continue
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            fail(f"cannot read '{path}': {e}")
        if r.get("framework") not in FRAMEWORKS:
            fail(f"'{path}' is not a bench_train / bench_train_torch.py result (framework: {r.get('framework')!r})")
        r["_path"] = path
        runs.append(r)
    if not runs:
        fail(f"no result files in '{folder}' (expected the --json files of bench_train and bench_train_torch.py)")
    return runs


def check_same_work(runs):
    first = runs[0]
    for r in runs[1:]:
        if r["recipe"] != first["recipe"]:
            diff = sorted(k for k in set(r["recipe"]) | set(first["recipe"]) if r["recipe"].get(k) != first["recipe"].get(k))
            fail(f"'{r['_path']}' and '{first['_path']}' ran different recipes ({', '.join(diff)})")
    by_pair = defaultdict(list)
    for r in runs:
        by_pair[(r["model"], r["norm"])].append(r)
    for pair_runs in by_pair.values():
        a = pair_runs[0]
        for r in pair_runs[1:]:
            for k in SAME_WORK:
                if r.get(k) != a.get(k):
                    fail(f"'{r['_path']}' ({k} {r.get(k)}) and '{a['_path']}' ({k} {a.get(k)}) did different work")


def fmt_s(v):
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="the --out folder of tools/bench_train.sh")
    args = p.parse_args()
    runs = load(args.folder)
    check_same_work(runs)
    meta = {}
    meta_path = os.path.join(args.folder, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)

    groups = defaultdict(list)  # (model, norm, framework) -> runs
    pairs = []
    for r in runs:
        if (r["model"], r["norm"]) not in pairs:
            pairs.append((r["model"], r["norm"]))
        groups[(r["model"], r["norm"], r["framework"])].append(r)
    # The order of issue 15's goal: skipnet48k, then minidl50k (others after, by name); batch, group, layer.
    model_order, norm_order = ["skipnet48k", "minidl50k"], ["batch", "group", "layer"]
    rank = lambda order, v: (order.index(v), "") if v in order else (len(order), v)
    pairs.sort(key=lambda mn: (rank(model_order, mn[0]), rank(norm_order, mn[1])))

    r0 = runs[0]
    images = f"{r0['steps']} steps of batch {r0['recipe']['batch_size']} ({r0['train_images']:,} images)"
    rounds = max(len(v) for v in groups.values())
    print("## Whole-epoch training: minidl vs PyTorch\n")
    if meta.get("command"):
        print(f"Command: `{meta['command']}`\n")
    if meta.get("machine"):
        print(f"Machine: {meta['machine']}\n")
    versions = [f"minidl {meta['commit']}" if meta.get("commit") else "",
                f"built {meta['build_type']}" if meta.get("build_type") else "",
                f"PyTorch {meta['torch']}" if meta.get("torch") else "", meta.get("date", "")]
    if any(versions):
        print("Versions: " + ", ".join(v for v in versions if v) + "\n")
    omp = f", OMP_WAIT_POLICY={meta['omp_wait_policy']}" if meta.get("omp_wait_policy") else ""
    how = (f"Median of {rounds} rounds (minidl and PyTorch runs alternating); the range of the runs in brackets."
           if rounds > 1 else "One round (minidl, then PyTorch).")
    print(f"Work per run: {images} of SGD nesterov + OneCycle with pad-crop + flip augmentation on "
          f"{r0['workers']} loader workers, then a test pass over {r0['test_images']:,} images; "
          f"{r0['threads']} compute threads{omp}. {how} "
          "ratio = minidl / PyTorch epoch time (below 1: minidl is faster).\n")
    cols = ["model", "norm", "minidl epoch (s)", "PyTorch epoch (s)", "ratio", "minidl train + test (s)",
            "PyTorch train + test (s)", "minidl img/s", "PyTorch img/s"]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    logs = []
    for model, norm in pairs:
        cells, med = [model, norm], {}
        parts, ips = {}, {}
        for fw in FRAMEWORKS:
            rs = groups.get((model, norm, fw), [])
            if not rs:
                med[fw] = None
                cells.append("—")
                continue
            totals = [r["total_seconds"] for r in rs]
            med[fw] = statistics.median(totals)
            spread = f" ({fmt_s(min(totals))}-{fmt_s(max(totals))})" if len(rs) > 1 else ""
            cells.append(fmt_s(med[fw]) + spread)
            parts[fw] = (fmt_s(statistics.median(r["train_seconds"] for r in rs)) + " + " +
                         fmt_s(statistics.median(r["test_seconds"] for r in rs)))
            ips[fw] = f"{statistics.median(r['images_per_second'] for r in rs):.0f}"
        if med["minidl"] and med["pytorch"]:
            ratio = med["minidl"] / med["pytorch"]
            logs.append(math.log(ratio))
            cells.append(f"{ratio:.2f}x")
        else:
            cells.append("—")
        cells += [parts.get(fw, "—") for fw in FRAMEWORKS] + [ips.get(fw, "—") for fw in FRAMEWORKS]
        print("| " + " | ".join(cells) + " |")
    if len(logs) > 1:
        print(f"\nGeometric mean of the {len(logs)} ratios: {math.exp(sum(logs) / len(logs)):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

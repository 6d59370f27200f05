#!/usr/bin/env python3
"""Writes the results tables of docs/results.md (and the README's headline rows) from the run
folders that tools/results.sh fills (results/<model>-<norm>-seed<N>/metrics.json, command.txt).

Nothing in those tables is typed by hand: each is the text between a pair of markers
    <!-- results:NAME:begin --> ... <!-- results:NAME:end -->
in the document, replaced on every call. NAME is one of: runs (every run), minidl50k (mean and
spread over seeds, against the targets), reference (the four reference models against the 70% bar),
headline (the README's short table).

usage: tools/results_table.py --results results --doc docs/results.md [--readme README.md]
"""
import argparse
import json
import math
import os
import re
import statistics
import sys

REFERENCE_MODELS = ["skipnet48k", "convnet39k", "gapnet39k", "c10net48k"]
NORMS = ["batch", "group", "layer"]
TARGETS = {"batch": 85.0, "group": 82.0, "layer": 82.0}  # minidl50k, mean of 3 seeds
REFERENCE_BAR = 70.0
REFERENCE_BEST = {"batch": 81.67, "group": 78.75, "layer": 78.29}


def load_runs(results_dir):
    runs = []
    if not os.path.isdir(results_dir):
        return runs
    for name in sorted(os.listdir(results_dir)):
        path = os.path.join(results_dir, name, "metrics.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            m = json.load(f)
        final = m.get("final") or {}
        cfg = m.get("config") or m.get("recipe") or {}
        cmd_path = os.path.join(results_dir, name, "command.txt")
        command = open(cmd_path).read().strip() if os.path.isfile(cmd_path) else ""
        epochs = m.get("epochs", [])
        # Seconds per epoch: median, so one slow epoch (a shared machine) does not dominate.
        secs = statistics.median([e["seconds"] for e in epochs]) if epochs else float("nan")
        tta = final.get("test_acc_flip_tta")
        ev_path = os.path.join(results_dir, name, "evaluation", "evaluation.json")
        if tta is None and os.path.isfile(ev_path):  # measured afterwards by train_cifar --evaluate
            with open(ev_path) as f:
                tta = json.load(f).get("test_acc_flip_tta")
        env = m.get("environment") or {}
        threads = env.get("threads") or cfg.get("threads")
        runs.append({
            "name": name, "model": cfg.get("model", "?"), "norm": cfg.get("norm", "?"),
            "seed": cfg.get("seed", "?"), "params": m.get("params", 0),
            "epochs_done": final.get("epochs_done", len(epochs)), "epochs": cfg.get("epochs", "?"),
            "finished": bool(final.get("finished")), "test_acc": final.get("test_acc"),
            "test_acc_tta": tta,
            "best": final.get("best_test_acc"), "best_epoch": final.get("best_epoch"),
            "train_acc": final.get("train_acc"), "device": m.get("device", "?"),
            "threads": threads, "sec_per_epoch": secs, "command": command,
        })
    return runs


def explore_table(results_dir):
    """The recipe exploration runs (results/explore/*): what was tried for minidl50k and what it gave."""
    runs = load_runs(os.path.join(results_dir, "explore"))
    rows = ["| run | epochs | test acc | with flip TTA | train acc | command |", "|---|---|---|---|---|---|"]
    for r in runs:
        state = "" if r["finished"] else " (partial)"
        rows.append(f"| {r['name']}{state} | {r['epochs_done']}/{r['epochs']} | {pct(r['test_acc'])} | "
                    f"{pct(r['test_acc_tta'])} | {pct(r['train_acc'])} | `{r['command']}` |")
    return rows


def pct(v):
    return "—" if v is None else f"{v:.2f}%"


def runs_table(runs):
    rows = ["| run | params | epochs | test acc | with flip TTA | best (epoch) | train acc | device | s/epoch | command |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        state = "" if r["finished"] else " (partial)"
        best = "—" if r["best"] is None else f"{r['best']:.2f}% ({r['best_epoch']})"
        rows.append(f"| {r['name']}{state} | {r['params']:,} | {r['epochs_done']}/{r['epochs']} | "
                    f"{pct(r['test_acc'])} | {pct(r['test_acc_tta'])} | {best} | {pct(r['train_acc'])} | {r['device']} | "
                    f"{r['sec_per_epoch']:.0f} | `{r['command']}` |")
    return rows


def mean_spread(values):
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def minidl50k_table(runs):
    rows = ["| norm | seeds done | test acc per seed | mean ± std | target (mean of 3) | status |",
            "|---|---|---|---|---|---|"]
    for norm in NORMS:
        done = sorted((r for r in runs if r["model"] == "minidl50k" and r["norm"] == norm and r["finished"]),
                      key=lambda r: r["seed"])
        accs = [r["test_acc"] for r in done]
        mean, std = mean_spread(accs)
        per_seed = ", ".join(f"seed {r['seed']}: {r['test_acc']:.2f}%" for r in done) or "—"
        if mean is None:
            ms, status = "—", "not run"
        else:
            ms = f"{mean:.2f}% ± {std:.2f}"
            met = mean >= TARGETS[norm]
            status = ("met" if met else "**not met**") + ("" if len(accs) >= 3 else f" ({len(accs)} of 3 seeds)")
        rows.append(f"| {norm} | {len(accs)} | {per_seed} | {ms} | {TARGETS[norm]:.0f}% | {status} |")
    return rows


def reference_table(runs):
    rows = ["| model | " + " | ".join(NORMS) + " |", "|---|" + "---|" * len(NORMS)]
    for model in REFERENCE_MODELS:
        cells = []
        for norm in NORMS:
            done = [r for r in runs if r["model"] == model and r["norm"] == norm and r["finished"]]
            if not done:
                cells.append("not run yet")
                continue
            acc = done[0]["test_acc"]
            cells.append(f"{acc:.2f}%" + ("" if acc > REFERENCE_BAR else " **(below 70%)**"))
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    rows.append("| reference projects' best | " + " | ".join(f"{REFERENCE_BEST[n]:.2f}%" for n in NORMS) + " |")
    return rows


def headline_table(runs):
    rows = ["| model | batch | group | layer |", "|---|---|---|---|"]
    for model in ["minidl50k"] + REFERENCE_MODELS:
        cells = []
        for norm in NORMS:
            accs = [r["test_acc"] for r in runs if r["model"] == model and r["norm"] == norm and r["finished"]]
            mean, std = mean_spread(accs)
            if mean is None:
                cells.append("not run yet")
            elif len(accs) > 1:
                cells.append(f"{mean:.2f}% ± {std:.2f} ({len(accs)} seeds)")
            else:
                cells.append(f"{mean:.2f}%")
        rows.append(f"| {model} | " + " | ".join(cells) + " |")
    return rows


def replace_block(text, name, rows, path):
    begin, end = f"<!-- results:{name}:begin -->", f"<!-- results:{name}:end -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        sys.exit(f"results_table.py: {path} has no '{begin}' ... '{end}' markers")
    body = "\n".join([begin, "<!-- generated by tools/results_table.py from results/*/metrics.json -->", *rows, end])
    return pattern.sub(lambda _: body, text)


def update(path, blocks):
    with open(path) as f:
        text = f.read()
    for name, rows in blocks.items():
        text = replace_block(text, name, rows, path)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--doc", default="docs/results.md")
    ap.add_argument("--readme")
    a = ap.parse_args()
    runs = load_runs(a.results)
    update(a.doc, {"runs": runs_table(runs), "minidl50k": minidl50k_table(runs), "reference": reference_table(runs),
                   "explore": explore_table(a.results)})
    if a.readme:
        update(a.readme, {"headline": headline_table(runs)})
    print(f"results_table.py: {len(runs)} runs ({sum(r['finished'] for r in runs)} finished) -> {a.doc}"
          + (f", {a.readme}" if a.readme else ""))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The pooling cases again after 9ecabdc (the adaptive windows computed once per call), minidl
# and PyTorch interleaved, 4 rounds, quiet machine. Run from the repository root.
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-ops/20261130-cpu-pays/adaptive-after}
m=() t=()
for r in 1 2 3 4; do
  ${BUILD:-build}/apps/bench_ops --device cpu --threads 2 --filter pool --json $D/minidl-r$r.json > /dev/null 2>&1
  /usr/bin/python3 apps/bench_ops_torch.py --cases $D/minidl-r$r.json --json $D/torch-r$r.json > /dev/null 2>&1
  m+=($D/minidl-r$r.json) t+=($D/torch-r$r.json)
done
/usr/bin/python3 apps/bench_table.py --minidl "${m[@]}" --torch "${t[@]}" > $D/table.md

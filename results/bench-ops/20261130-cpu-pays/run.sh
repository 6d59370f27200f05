#!/usr/bin/env bash
# Per-op benchmark, minidl (bench_ops) and PyTorch (bench_ops_torch.py) interleaved, 4 rounds, on a
# quiet machine; table.md reduces each case to its minimum over the rounds. Run from the repository root.
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-ops/20261130-cpu-pays}
R=${ROUNDS:-4}
m=() t=()
for r in $(seq 1 $R); do
  ${BUILD:-build}/apps/bench_ops --device cpu --threads 2 --json $D/minidl-r$r.json > $D/minidl-r$r.log 2>&1
  /usr/bin/python3 apps/bench_ops_torch.py --cases $D/minidl-r$r.json --json $D/torch-r$r.json > $D/torch-r$r.log 2>&1
  m+=($D/minidl-r$r.json) t+=($D/torch-r$r.json)
done
/usr/bin/python3 apps/bench_table.py --minidl "${m[@]}" --torch "${t[@]}" > $D/table.md

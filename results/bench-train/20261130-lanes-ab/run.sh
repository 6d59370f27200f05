#!/usr/bin/env bash
# This session's CPU changes, one epoch of bench_train each, before (BEFORE: 65699b5) and after
# (AFTER: 13ec184: image lanes in the conv engine, padded buffers from the allocator cache, the tuned
# layer_norm), alternating, 2 rounds, on a quiet machine. Run from the repository root.
# BEFORE / AFTER: bench_train binaries of the two builds (Release).
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-train/20261130-lanes-ab}
BEFORE=${BEFORE:-/work/frozen/bench_train-65699b5} AFTER=${AFTER:-/work/frozen/bench_train-13ec184}
for r in 1 2; do
  for mn in convnet39k:batch skipnet48k:batch minidl50k:group; do
    for v in before after; do
      bin=$BEFORE; [[ $v == after ]] && bin=$AFTER
      j=$D/${mn%:*}-${mn#*:}-$v-r$r.json
      $bin --model ${mn%:*} --norm ${mn#*:} --threads 2 --workers 2 --data datasets --json $j > /dev/null
      python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[1], j['total_seconds'])" $j
    done
  done
done

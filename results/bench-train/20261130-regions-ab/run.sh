#!/usr/bin/env bash
# This session's CPU changes, one epoch of bench_train each, before (BEFORE: f4dc0e6) and after
# (AFTER: 0711d57: parallel_pays for the elementwise, dropout, pooling and norm loops, the stride-2
# deinterleave, the lane memory cap), alternating, 2 rounds, on a quiet machine. Run from the
# repository root. BEFORE / AFTER: bench_train binaries of the two builds (Release).
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-train/20261130-regions-ab}
BEFORE=${BEFORE:-/work/frozen/bench_train-f4dc0e6} AFTER=${AFTER:-/work/frozen/bench_train-0711d57}
for r in 1 2; do
  for mn in skipnet48k:batch skipnet48k:group minidl50k:batch; do
    for v in before after; do
      bin=$BEFORE; [[ $v == after ]] && bin=$AFTER
      j=$D/${mn%:*}-${mn#*:}-$v-r$r.json
      $bin --model ${mn%:*} --norm ${mn#*:} --threads 2 --workers 2 --data datasets --json $j > /dev/null
      python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[1], j['total_seconds'])" $j
    done
  done
done

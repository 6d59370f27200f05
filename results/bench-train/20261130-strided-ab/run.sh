#!/usr/bin/env bash
# The CPU conv engine before (542aed5: strided convolutions on im2col + Eigen GEMM) and after
# (e596542: strided convolutions on the direct register tiles), alternating, one epoch of
# bench_train each, on a quiet machine. BEFORE / AFTER: bench_train binaries of the two commits
# (Release builds, cmake --build <dir> --target bench_train).
set -e
export OMP_WAIT_POLICY=passive
BEFORE=${BEFORE:-/work/frozen/bench_train-542aed5} AFTER=${AFTER:-/work/frozen/bench_train-e596542}
for r in 1 2; do
  for mn in skipnet48k:batch minidl50k:group; do
    for v in before after; do
      bin=$BEFORE; [[ $v == after ]] && bin=$AFTER
      $bin --model ${mn%:*} --norm ${mn#*:} --threads 2 --workers 2 --data /work/main/datasets \
        --json ${mn%:*}-${mn#*:}-$v-r$r.json > /dev/null
      python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[1], j['total_seconds'])" ${mn%:*}-${mn#*:}-$v-r$r.json
    done
  done
done

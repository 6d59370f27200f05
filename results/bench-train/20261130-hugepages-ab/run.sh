#!/usr/bin/env bash
# The CPU allocator without (BEFORE: 21d75f3) and with (AFTER) 2 MiB-aligned blocks marked for
# transparent huge pages, alternating, one epoch of bench_train each, on a quiet machine.
# BEFORE / AFTER: bench_train binaries of the two builds (Release).
set -e
export OMP_WAIT_POLICY=passive
BEFORE=${BEFORE:-/work/frozen/bench_train-21d75f3} AFTER=${AFTER:-/work/frozen/bench_train-hugepages}
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

#!/usr/bin/env bash
# batch_norm / group_norm engines: the reference (MINIDL_BN_ENGINE=ref MINIDL_GN_ENGINE=ref) and
# the tuned CPU engine (the default), alternating, one epoch of bench_train each.
set -e
export OMP_WAIT_POLICY=passive
for r in 1 2; do
  for mn in skipnet48k:batch minidl50k:group; do
    for e in ref cpu; do
      MINIDL_BN_ENGINE=$e MINIDL_GN_ENGINE=$e /work/wt/build/apps/bench_train --model ${mn%:*} --norm ${mn#*:} \
        --threads 2 --workers 2 --data /work/main/datasets --json ${mn%:*}-${mn#*:}-$e-r$r.json > /dev/null
      python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[1], j['total_seconds'])" ${mn%:*}-${mn#*:}-$e-r$r.json
    done
  done
done

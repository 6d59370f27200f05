#!/usr/bin/env bash
# The CPU allocator's cache off (MINIDL_CPU_CACHE=0) and on, alternating, one epoch each.
set -e
export OMP_WAIT_POLICY=passive
for r in 1 2; do
  for mn in skipnet48k:batch minidl50k:group; do
    for c in 0 1; do
      MINIDL_CPU_CACHE=$c /work/wt/build/apps/bench_train --model ${mn%:*} --norm ${mn#*:} --threads 2 --workers 2 \
        --data /work/main/datasets --json ${mn%:*}-${mn#*:}-cache$c-r$r.json > /dev/null
      python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[1], {k: j[k] for k in j if 'seconds' in k or k=='total_seconds'})" ${mn%:*}-${mn#*:}-cache$c-r$r.json
    done
  done
done

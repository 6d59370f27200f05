#!/usr/bin/env bash
# Parallel regions (more than one thread) started by 20 training steps of skipnet48k with batch norm
# plus a 128-image test pass, in total and per function. Run from the repository root:
#   results/bench-train/20261130-regions-ab/count_regions.sh [bench_train binary]
set -e
D=$(dirname "$0")
BIN=${1:-build/apps/bench_train}
gcc -O2 -shared -fPIC "$D/count_regions.c" -o /tmp/count_regions.so -ldl
OMP_WAIT_POLICY=passive LD_PRELOAD=/tmp/count_regions.so "$BIN" --model skipnet48k --norm batch --steps 20 --warmup 0 \
  --test-images 128 --threads 2 2> /tmp/count_regions.txt > /dev/null
grep TOTAL /tmp/count_regions.txt
grep CNT /tmp/count_regions.txt | sort -k2 -rn | while read -r _ n off; do
  echo "$n $(addr2line -f -C -e "$BIN" "0x$off" | head -1 | cut -c1-110)"
done

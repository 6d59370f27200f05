#!/usr/bin/env bash
# One whole train_cifar epoch (50,000 images + the test pass), before (1854b70) and after the
# "adding an op is cheap" refactor, alternating, 2 rounds, 2 threads, on a quiet machine (the
# training runs of the session paused with SIGSTOP). Run from the repository root.
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-train/20261207-issue21/epoch-ab}
BEFORE=${BEFORE:-/work/runbin/train_cifar} AFTER=${AFTER:-build-cpu/apps/train_cifar}
for r in 1 2; do
  for m in skipnet48k:batch minidl50k:group; do
    mo=${m%:*} no=${m#*:}
    for v in before after; do
      bin=$AFTER; [[ $v == before ]] && bin=$BEFORE
      $bin --model $mo --norm $no --epochs 20 --stop-after 1 --seed 1 --threads 2 \
        --out /tmp/epoch-ab/$mo-$v --overwrite > $D/$mo-$no-$v-r$r.log 2>&1 || true
      echo "$mo-$no $v r$r: $(grep -o '^epoch   1/20.*' $D/$mo-$no-$v-r$r.log | grep -o '[0-9]:[0-9][0-9]  [0-9]* img/s')"
    done
  done
done

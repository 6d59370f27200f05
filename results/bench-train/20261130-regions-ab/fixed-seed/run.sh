#!/usr/bin/env bash
# Same math before/after this session's changes (parallel_pays, the stride-2 deinterleave, the lane
# memory cap): 2 epochs on 5,000 images, seed 1, with the build of the session's start (BEFORE:
# f4dc0e6) and after (AFTER). Every change only moves work between threads or copies values, so
# the metrics must be identical digit for digit. Run from the repository root.
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-train/20261130-regions-ab/fixed-seed}
BEFORE=${BEFORE:-/work/frozen/train_cifar-f4dc0e6} AFTER=${AFTER:-build/apps/train_cifar}
for m in convnet39k:batch skipnet48k:batch minidl50k:group; do
  mo=${m%:*} no=${m#*:}
  for v in before after; do
    bin=$AFTER; [[ $v == before ]] && bin=$BEFORE
    $bin --model $mo --norm $no --epochs 2 --seed 1 --limit-train 5000 --threads 2 \
      --out /tmp/fixed-seed/$mo-$v --overwrite > $D/$mo-$v.log 2>&1
  done
done

#!/usr/bin/env bash
# Same math before/after image lanes: 2 epochs on 5,000 images, seed 1, with the build before this
# session's changes (BEFORE: 65699b5), after (AFTER), and after with MINIDL_CONV_LANES=never
# (the lane path off: must reproduce "before" exactly). Run from the repository root.
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-train/20261130-lanes-ab/fixed-seed}
BEFORE=${BEFORE:-/work/frozen/train_cifar-65699b5} AFTER=${AFTER:-build/apps/train_cifar}
for m in convnet39k:batch skipnet48k:batch; do
  mo=${m%:*} no=${m#*:}
  for v in before after never; do
    bin=$AFTER; [[ $v == before ]] && bin=$BEFORE
    lanes=auto; [[ $v == never ]] && lanes=never
    MINIDL_CONV_LANES=$lanes $bin --model $mo --norm $no --epochs 2 --seed 1 --limit-train 5000 --threads 2 \
      --out /tmp/fixed-seed/$mo-$v --overwrite > $D/$mo-$v.log 2>&1
  done
done

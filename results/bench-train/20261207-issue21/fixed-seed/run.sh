#!/usr/bin/env bash
# Same math before/after the "adding an op is cheap" refactor (kernel lists, MINIDL_CHOSEN_KERNEL,
# the tuned loops moved from kernels/ref/ to kernels/cpu/, the conv engine split, choose_path):
# 2 epochs on 5,000 images, seed 1, with the build before it (BEFORE: 1854b70) and after (AFTER).
# No change touches a float32 training computation, so the metrics must be identical digit for
# digit. Run from the repository root.
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-train/20261207-issue21/fixed-seed}
BEFORE=${BEFORE:-/work/runbin/train_cifar} AFTER=${AFTER:-build-cpu/apps/train_cifar}
for m in convnet39k:batch skipnet48k:group minidl50k:layer c10net48k:batch; do
  mo=${m%:*} no=${m#*:}
  for v in before after; do
    bin=$AFTER; [[ $v == before ]] && bin=$BEFORE
    $bin --model $mo --norm $no --epochs 2 --seed 1 --limit-train 5000 --threads 2 \
      --out /tmp/fixed-seed/$mo-$v --overwrite > $D/$mo-$v.log 2>&1
    grep "^epoch" $D/$mo-$v.log | sed "s/^/$mo-$no $v: /" | cut -c1-120
  done
done

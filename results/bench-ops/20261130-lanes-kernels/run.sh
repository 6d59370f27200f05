#!/usr/bin/env bash
# Kernel timings for the image-lane cost model (kernels/cpu/conv.cpp, LaneLayout::pays): each case with
# lanes never / always / auto, alternating, 2 rounds, on a quiet machine. Run from the repository root
# after a Release build in BUILD (default build).
set -e
export OMP_WAIT_POLICY=passive
D=${D:-results/bench-ops/20261130-lanes-kernels}
BUILD=${BUILD:-build}
g++ -O2 -std=c++17 -fopenmp -I. $D/conv_lanes.cpp $BUILD/libminidl.a -o $D/conv_lanes -lpthread
for r in 1 2; do
  for mode in never always auto; do
    echo "== round $r, MINIDL_CONV_LANES=$mode"
    MINIDL_CONV_LANES=$mode $D/conv_lanes
  done
done > $D/run.log
rm $D/conv_lanes

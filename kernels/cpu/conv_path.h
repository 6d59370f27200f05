// Which path the cpu conv engine takes for a shape and a pass, decided in one place
// (kernels/cpu/conv_path.cpp), with every constant of that decision in ConvTuning. The drivers
// (kernels/cpu/conv.cpp) follow the path; tests/test_conv.cpp checks it per shape class.
//   subsampled  a 1x1 kernel at a stride without padding reads only the pixels (p sh, q sw): it
//               runs at stride 1 on the subsampled image (forward, backward weight)
//   phases      backward data at a stride: one stride-1 convolution per phase (a, b) of dx
//   lanes       at stride 1, images in the vector lanes instead of pixels (kernels/cpu/conv_lanes.h),
//               where the cost model says it pays (small maps; backward weight of 3x3 kernels)
//   parallel    the batch split across the threads (below kParallelMinMacs one thread is faster)
//   avx512      the AVX-512 register tiles (twice the accumulators) on CPUs that have it
// Overrides, for tests and A/B timings: cpu::set_conv_lanes (kernels/conv.h) or MINIDL_CONV_LANES
// = auto | always | never for the lanes; MINIDL_CPU_AVX512=0 for the AVX2 tiles.
#pragma once
#include <cstdint>

#include "kernels/conv.h"

namespace minidl::cpu::conv_detail {

struct ConvTuning {
  // Below this many multiply-adds a convolution runs on one thread: waking the others costs more
  // than they save (and far more on a loaded machine).
  static constexpr int64_t kParallelMinMacs = int64_t(1) << 20;
  // Image lanes pay at stride 1, for N images over T threads, with macs multiply-adds and copied
  // elements (the input and output planes that lanes copy) per image, when
  //   a macs / lane_fill + k copied  <  macs / grid_fill
  // (each way's cost in multiply-adds: the fraction of lanes the pixel grid fills, and of the
  // lane groups a thread's images fill). a < 1: on a full lane the lane tiles run faster than the
  // grid's (no partial slots; backward weight reduces over more pixels per chunk); k: the copies
  // and the larger footprint. Fitted to kernel timings on Zen 4 (results/bench-ops/
  // 20261130-lanes-kernels): forward-style passes a = 0.9, k = 18 (lanes win on 5x5 to 12x12
  // maps and a 28-wide one, lose on 8x8, 16x16 and 32x32); backward weight a = 0.8, k = 9 (lanes
  // win for 3x3 kernels with 16 and more channels at any map size, lose for 1x1, depthwise and
  // 3-channel inputs).
  struct LaneCost {
    double a, k;
  };
  static constexpr LaneCost kLanesForward{0.9, 18.0}, kLanesWeight{0.8, 9.0};
  // A lane group's copies (copied x lanes elements) are scratch kept while the tiles run, and a
  // thread holds a chunk of up to 8 groups: past 8 MB a group neither stays in cache nor stays
  // small (64 channels at 224 x 224 would take ~200 MB), so lanes are not used; under it a
  // thread's chunk stays under 64 MB (the reference models' largest group, 24 channels on 32x32
  // in minidl50k, is 1.7 MB).
  static constexpr int64_t kMaxLaneGroupBytes = int64_t(8) << 20;
};

inline int64_t conv_macs(const Conv2dShape& s) { return s.N * s.K * s.Cg() * s.R * s.S * s.P * s.Q; }
inline bool conv_parallel(int64_t macs) { return macs > ConvTuning::kParallelMinMacs; }

enum class ConvPass { Forward, BackwardData, BackwardWeight };
struct ConvPath {
  bool subsampled = false, phases = false, lanes = false, parallel = false, avx512 = false;
};
// The path of a pass on shape s, for elements of elem_bytes in vectors of `lanes` lanes, with
// `threads` OpenMP threads available.
ConvPath choose_path(const Conv2dShape& s, ConvPass pass, int64_t elem_bytes, int64_t lanes, int threads);

// The pieces of the decision, for the drivers.
inline bool subsampled_1x1(const Conv2dShape& s) {
  return s.R == 1 && s.S == 1 && s.pad_h == 0 && s.pad_w == 0 && (s.stride_h > 1 || s.stride_w > 1);
}
inline Conv2dShape as_subsampled(Conv2dShape s) {
  s.H = s.P, s.W = s.Q, s.stride_h = s.stride_w = 1;
  return s;
}
bool has_avx512();  // the CPU has it and MINIDL_CPU_AVX512 is not 0
// Whether lanes pay, as above, for output P x Q on a padded width Wi.
bool lanes_pay(ConvTuning::LaneCost cost, int64_t N, int64_t threads, int64_t P, int64_t Q, int64_t Wi, int64_t lanes,
               int64_t macs, int64_t copied, int64_t elem_bytes);

}  // namespace minidl::cpu::conv_detail

// softmax and log_softmax along one dimension (numerically stable: the max is subtracted first).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/tensor.h"

namespace minidl {
namespace ops {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace ops

// Raw kernels. x is viewed as [outer, D, inner] with the softmax dimension in the middle
// (inner == 1: contiguous rows). D >= 1. y is the saved OUTPUT of the forward:
//   softmax_fwd:     y = exp(x - max) / sum_k exp(x_k - max)
//   log_softmax_fwd: y = (x - max) - log(sum_k exp(x_k - max))
//   softmax_bwd:     dx = y * (dy - sum_k dy_k y_k)
//   log_softmax_bwd: dx = dy - exp(y) * sum_k dy_k
#define MINIDL_SOFTMAX_KERNELS                                                                              \
  template <class T> void softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner);           \
  template <class T> void log_softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner);       \
  template <class T> void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner); \
  template <class T> void log_softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner);
namespace cpu { MINIDL_SOFTMAX_KERNELS }
namespace cuda { MINIDL_SOFTMAX_KERNELS }
#undef MINIDL_SOFTMAX_KERNELS

namespace cpu::detail {

// exp(x) for x <= 0, written so that GCC vectorizes a loop calling it (no branches, no libm
// call: std::exp is a scalar call and makes softmax ~10x slower). Shared by the CPU softmax and
// loss kernels, whose exponents are always <= 0 (x - max, or log-probabilities).
// exp(x) = 2^n exp(r) with n = round(x / ln 2) and |r| <= ln(2) / 2; exp(r) by its Taylor series
// up to r^7 (truncation error < 2.5e-8 relative: below one float ulp). Results under 2^-126
// (x < ~-87.3), -inf included, flush to 0; NaN stays NaN (whatever its sign bit). Measured: < 1 ulp on [-87.3, 0].
inline float exp_nonpos(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: t = v + kRound leaves round(v) in t's low mantissa bits
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;
  int32_t tbits;
  std::memcpy(&tbits, &t, sizeof tbits);
  const int32_t ni = tbits - 0x4B400000;  // round(x / ln 2) as an integer (the bits of kRound subtracted)
  // r = x - n ln 2 with ln 2 split in two so n * ln2_hi is exact (Cody-Waite reduction).
  const float r = (x - n * 0.693145751953125f) - n * 1.428606820309417e-06f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // Integer masks, not float compares: with -ftrapping-math (GCC's default) a float select
  // is a branch and the loop would not vectorize.
  const int32_t keep = ni >= -126 ? -1 : 0;
  const int32_t sbits = ((ni + 127) << 23) & keep;  // 2^n as a float's bits
  float scale;
  std::memcpy(&scale, &sbits, sizeof scale);
  float e = p * scale;
  int32_t ebits;
  std::memcpy(&ebits, &e, sizeof ebits);
  ebits &= keep;  // p * 0 is NaN when p is (x = -inf): force the flushed results to +0
  // t is NaN exactly when x is; a NaN of either sign stays NaN. (Masks, not `? :` between two
  // values: GCC does not vectorize the loop with that select.)
  const int32_t nan_mask = (tbits & 0x7FFFFFFF) > 0x7F800000 ? -1 : 0;
  ebits = (ebits & ~nan_mask) | (tbits & nan_mask);
  std::memcpy(&e, &ebits, sizeof e);
  return e;
}
// float64 is what gradcheck uses: exactness over speed.
inline double exp_nonpos(double x) { return std::exp(x); }

}  // namespace cpu::detail

}  // namespace minidl

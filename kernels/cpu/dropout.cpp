// The tuned CPU dropout engine (kernels/ref/dropout.cpp is the plain specification; the mask is
// the same bit for bit):
//   y[i] = x[i] * (u(i / group) >= p ? scale : 0),   u(k) = philox_uniform(seed, offset, k)
// (a multiply by 0, like PyTorch's x * mask: also what lets the loops vectorize without branches)
// group = 1 (dropout): one Philox call yields the 4 uniforms of elements 4b .. 4b + 3 (exactly
//   philox_uniform's layout: counter offset + b, word j), so each call serves 4 elements.
// group > 1 (dropout2d): one draw per channel, then the whole channel is multiplied by its factor.
// The same kernel applied to dy is the backward (the mask is regenerated, never stored).
// Threads: OpenMP over chunks of 64 elements / over channels, when that pays (parallel_pays).
#include <algorithm>

#include "core/parallel.h"
#include "core/philox.h"
#include "kernels/dropout.h"

namespace minidl::cpu {

namespace {
// One thread's time per element with a Philox draw each: ~1.8 ns (bench_ops dropout --threads 1),
// some 20 times a plain multiply's.
constexpr double kPhiloxElementUs = 1.8e-3;
}  // namespace

template <class T>
void dropout_apply(const T* x, T* y, int64_t n, int64_t group, float p, T scale, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  if (group == 1) {
    // Chunks of 64 elements: first their 16 Philox blocks into u[], then the masking as one
    // vectorized multiply by (scale or 0): a branch per element would mispredict at random.
    constexpr int64_t kChunk = 64;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for if (parallel_pays(static_cast<double>(n) * kPhiloxElementUs))
    for (int64_t c = 0; c < chunks; ++c) {
      float u[kChunk];  // u[e] == philox_uniform(seed, offset, i0 + e): counter offset + (i0 + e) / 4, word e % 4
      for (int64_t b = 0; b < kChunk / 4; ++b) {
        const Philox4 r = philox4x32_10(seed, offset + static_cast<uint64_t>(c * (kChunk / 4) + b));
        for (int j = 0; j < 4; ++j) u[4 * b + j] = static_cast<float>(r.v[j] >> 8) * (1.0f / 16777216.0f);
      }
      const int64_t i0 = c * kChunk, m = std::min(kChunk, n - i0);
#pragma omp simd
      for (int64_t e = 0; e < m; ++e) y[i0 + e] = x[i0 + e] * (u[e] >= p ? scale : T(0));
    }
    return;
  }
  const int64_t channels = n / group;
#pragma omp parallel for if (streaming_pays<T>(n, 2))
  for (int64_t c = 0; c < channels; ++c) {
    const T factor = philox_uniform(seed, offset, static_cast<uint64_t>(c)) >= p ? scale : T(0);
    const T* xc = x + c * group;
    T* yc = y + c * group;
#pragma omp simd
    for (int64_t i = 0; i < group; ++i) yc[i] = xc[i] * factor;
  }
}

#define MINIDL_KERNELS(K) MINIDL_DROPOUT_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

// CUDA dropout kernel (same math as kernels/ref/dropout.cpp):
//   y[i] = x[i] * (u(i / group) >= p ? scale : 0),   u(k) = philox_uniform(seed, offset, k)
// group = 1 (dropout) and group = H * W (dropout2d: one draw per channel). The same kernel on dy
// is the backward (the mask is regenerated from (seed, offset), never stored), and the Philox
// function is the one in core/philox.h, so the mask is bit-identical to the CPU's.
// Thread mapping (grid-stride loops):
//   group = 1: one thread per block of 4 elements. One Philox call yields the 4 uniforms of
//              elements 4b .. 4b + 3 (counter offset + b, words 0..3), so the integer work is
//              done once per 4 elements instead of 4 times.
//   group > 1: a first kernel draws one factor per channel (scale or 0) into a small temporary,
//              then one thread per element multiplies, reading its channel's factor (cached).
#include "core/cuda_utils.cuh"
#include "core/philox.h"
#include "core/tensor.h"
#include "kernels/dropout.h"

namespace minidl::cuda {
namespace {

template <class T>
__global__ void dropout_kernel(const T* x, T* y, int64_t n, float p, T scale, uint64_t seed, uint64_t offset) {
  MINIDL_GRID_STRIDE_LOOP(b, (n + 3) / 4) {
    const Philox4 r = philox4x32_10(seed, offset + static_cast<uint64_t>(b));
    const int64_t i0 = 4 * b;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (i0 + j < n) {
        const float u = static_cast<float>(r.v[j] >> 8) * (1.0f / 16777216.0f);  // == philox_uniform(.., i0 + j)
        y[i0 + j] = x[i0 + j] * (u >= p ? scale : T(0));
      }
    }
  }
}

template <class T>
__global__ void channel_factor_kernel(T* factor, int64_t channels, float p, T scale, uint64_t seed, uint64_t offset) {
  MINIDL_GRID_STRIDE_LOOP(c, channels) {
    factor[c] = philox_uniform(seed, offset, static_cast<uint64_t>(c)) >= p ? scale : T(0);
  }
}

template <class T, class I>
__global__ void channel_scale_kernel(const T* x, const T* factor, T* y, I n, I group) {
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<I>(gridDim.x) * blockDim.x)
    y[i] = x[i] * factor[i / group];
}

}  // namespace

template <class T>
void dropout_apply(const T* x, T* y, int64_t n, int64_t group, float p, T scale, uint64_t seed, uint64_t offset) {
  if (n == 0) return;
  if (group == 1) {
    MINIDL_LAUNCH(grid_for((n + 3) / 4), kBlock, dropout_kernel)(x, y, n, p, scale, seed, offset);
    return;
  }
  const int64_t channels = n / group;
  // The temporary comes from the caching allocator (freed back to its cache when this returns;
  // the stream orders the reuse after the kernels below).
  Tensor factor = empty({channels}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
  MINIDL_LAUNCH(grid_for(channels), kBlock, channel_factor_kernel)(factor.data<T>(), channels, p, scale, seed,
                                                                   offset);
  // int32 division is several times cheaper than int64 on the GPU; safe while i + grid stride < 2^31.
  if (n + static_cast<int64_t>(grid_for(n)) * kBlock < INT32_MAX)
    MINIDL_LAUNCH(grid_for(n), kBlock, channel_scale_kernel<T, int32_t>)(x, factor.data<T>(), y, int32_t(n),
                                                                         int32_t(group));
  else
    MINIDL_LAUNCH(grid_for(n), kBlock, channel_scale_kernel<T, int64_t>)(x, factor.data<T>(), y, n, group);
}

#define MINIDL_KERNELS(K) MINIDL_DROPOUT_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

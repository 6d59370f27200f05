// Inverted dropout: in training, zero each element (dropout) or each whole channel (dropout2d)
// with probability p and scale the survivors by 1 / (1 - p); identity in eval.
#pragma once
#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl::ops {

// gen defaults to default_generator(). The mask is a pure function of (seed, offset, index)
// (core/philox.h), identical on CPU and CUDA.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// x [N, C, *]: one draw per (n, c) channel.
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace minidl::ops

namespace minidl {
// Raw kernel (identical signatures on both devices). Element i of the n elements belongs to
// draw k = i / group (group = 1 for dropout, H * W for dropout2d: one draw per channel):
//   y[i] = x[i] * (philox_uniform(seed, offset, k) >= p ? scale : 0)      (scale = 1 / (1 - p))
// The map is linear in x with a mask that is a pure function of (seed, offset), so the same
// kernel applied to dy is the backward: dx = dy * mask * scale.
#define MINIDL_DROPOUT_KERNELS(K)                                                                              \
  K(dropout_apply, (const T* x, T* y, int64_t n, int64_t group, float p, T scale, uint64_t seed,               \
      uint64_t offset))
namespace ref { MINIDL_DROPOUT_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/dropout.cpp
namespace cpu { MINIDL_DROPOUT_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/dropout.cpp (tuned)
namespace cuda { MINIDL_DROPOUT_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/dropout.cu

// The engine choice of dropout and dropout2d (kernels/dropout.cpp; see kernels/engine.h): on CPU tensors cpu
// (the default) or ref; on CUDA tensors cuda. MINIDL_DROPOUT_ENGINE=ref.
EngineChoice& dropout_engine();
}  // namespace minidl

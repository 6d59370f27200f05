// softmax and log_softmax along one dimension (numerically stable: the max is subtracted first).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

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
#define MINIDL_SOFTMAX_KERNELS(K)                                                                              \
  K(softmax_fwd, (const T* x, T* y, int64_t outer, int64_t D, int64_t inner))                                  \
  K(log_softmax_fwd, (const T* x, T* y, int64_t outer, int64_t D, int64_t inner))                              \
  K(softmax_bwd, (const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner))                    \
  K(log_softmax_bwd, (const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner))
namespace ref { MINIDL_SOFTMAX_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/softmax.cpp
namespace cpu { MINIDL_SOFTMAX_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/softmax.cpp (tuned)
namespace cuda { MINIDL_SOFTMAX_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/softmax.cu

// The engine choice of softmax and log_softmax (kernels/softmax.cpp; see kernels/engine.h):
// CPU cpu (the default) or ref; CUDA cuda. MINIDL_SOFTMAX_ENGINE=ref.
EngineChoice& softmax_engine();

}  // namespace minidl

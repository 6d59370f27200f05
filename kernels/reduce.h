// Reductions: sum and mean over all elements or over one dimension.
// Every reduction is seen as x[outer, d, inner] -> y[outer, inner] (the reduced dimension in
// the middle), which covers all elements (outer = inner = 1) and any single dimension.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

Tensor sum(const Tensor& x);   // 0-dim tensor
Tensor mean(const Tensor& x);  // 0-dim tensor
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace ops

// y[o, i] = scale * sum_k x[o, k, i]         (accumulated in double, also for float32 inputs,
//                                             on the CPU and on CUDA)
// dx[o, k, i] = scale * dy[o, i]             (the backward of the above)
#define MINIDL_REDUCE_KERNELS(K)                                                                               \
  K(sum_dim, (const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale))                             \
  K(broadcast_dim, (const T* dy, T* dx, int64_t outer, int64_t d, int64_t inner, T scale))
namespace ref { MINIDL_REDUCE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/reduce.cpp
namespace cpu { MINIDL_REDUCE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/reduce.cpp (tuned)
namespace cuda { MINIDL_REDUCE_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/reduce.cu

// The engine choice of sum and mean (kernels/reduce.cpp; see kernels/engine.h): on CPU tensors cpu
// (the default) or ref; on CUDA tensors cuda. MINIDL_REDUCE_ENGINE=ref.
EngineChoice& reduce_engine();
}  // namespace minidl

// The dropout reference (runs on the CPU): the executable specification of kernels/cuda/dropout.cu
// and kernels/cpu/dropout.cpp.
//   y[i] = x[i] * (u(i / group) >= p ? scale : 0),   u(k) = philox_uniform(seed, offset, k)
// (a multiply by 0, like PyTorch's x * mask). group = 1 (dropout): one draw per element;
// group = H * W (dropout2d): one draw per channel. The same kernel applied to dy is the backward
// (the mask is regenerated, never stored).
#include "core/philox.h"
#include "kernels/dropout.h"

namespace minidl::ref {

template <class T>
void dropout_apply(const T* x, T* y, int64_t n, int64_t group, float p, T scale, uint64_t seed, uint64_t offset) {
  for (int64_t i = 0; i < n; ++i) {
    const float u = philox_uniform(seed, offset, static_cast<uint64_t>(i / group));
    y[i] = x[i] * (u >= p ? scale : T(0));
  }
}

#define MINIDL_KERNELS(K) MINIDL_DROPOUT_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

// The reduction reference (runs on the CPU): sums over the middle axis of x[outer, d, inner]:
//   sum_dim:       y[o, i]    = scale * sum_{k < d} x[o, k, i]
//   broadcast_dim: dx[o, k, i] = scale * dy[o, i]
// Sums accumulate in double so a float sum over millions of elements keeps its precision.
#include "kernels/reduce.h"

namespace minidl::ref {

template <class T>
void sum_dim(const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double acc = 0.0;
      for (int64_t k = 0; k < d; ++k) acc += x[(o * d + k) * inner + i];
      y[o * inner + i] = static_cast<T>(acc * scale);
    }
}

template <class T>
void broadcast_dim(const T* dy, T* dx, int64_t outer, int64_t d, int64_t inner, T scale) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t i = 0; i < inner; ++i) dx[(o * d + k) * inner + i] = scale * dy[o * inner + i];
}

#define MINIDL_KERNELS(K) MINIDL_REDUCE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

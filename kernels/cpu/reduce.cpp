// The tuned CPU reduction engine (kernels/ref/reduce.cpp is the plain specification):
//   sum_dim:       y[o, i]    = scale * sum_{k < d} x[o, k, i]
//   broadcast_dim: dx[o, k, i] = scale * dy[o, i]
// Sums accumulate in double so a float sum over millions of elements keeps its precision.
#include <vector>

#include "core/parallel.h"
#include "kernels/reduce.h"

namespace minidl::cpu {

template <class T>
void sum_dim(const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale) {
  if (outer == 1 && inner == 1) {  // everything into one number: split the row across threads
    double acc = 0.0;
#pragma omp parallel for simd reduction(+ : acc) if (parallel : fixed_split_pays(d))
    for (int64_t k = 0; k < d; ++k) acc += x[k];
    y[0] = static_cast<T>(acc * scale);
    return;
  }
  if (inner == 1) {  // one contiguous row per output
#pragma omp parallel for if (streaming_pays<T>(outer * d, 1))
    for (int64_t o = 0; o < outer; ++o) {
      double acc = 0.0;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < d; ++k) acc += x[o * d + k];
      y[o] = static_cast<T>(acc * scale);
    }
    return;
  }
  // inner > 1: walk k outside so the inner loop is contiguous and vectorizes.
#pragma omp parallel for if (streaming_pays<T>(outer * d * inner, 1))
  for (int64_t o = 0; o < outer; ++o) {
    std::vector<double> acc(static_cast<size_t>(inner), 0.0);
    for (int64_t k = 0; k < d; ++k) {
      const T* src = x + (o * d + k) * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) acc[i] += src[i];
    }
    for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = static_cast<T>(acc[i] * scale);
  }
}

template <class T>
void broadcast_dim(const T* dy, T* dx, int64_t outer, int64_t d, int64_t inner, T scale) {
#pragma omp parallel for collapse(2) if (streaming_pays<T>(outer * d * inner, 2))
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < d; ++k) {
      T* dst = dx + (o * d + k) * inner;
      const T* src = dy + o * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) dst[i] = scale * src[i];
    }
}

#define MINIDL_KERNELS(K) MINIDL_REDUCE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

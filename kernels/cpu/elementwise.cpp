// The tuned CPU elementwise engine (kernels/ref/elementwise.cpp is the plain specification;
// kernels/cuda/elementwise.cu the GPU one):
//   axpby:    y = alpha * a + beta * b
//   mul:      y = a * b
//   affine:   y = x * scale + shift
//   relu_fwd: y = max(x, 0)
//   relu_bwd: dx = dy * [y > 0]   (from the saved output y; [y > 0] == [x > 0])
// Plain loops the compiler vectorizes; OpenMP splits an array across the cores when that pays
// (parallel_pays: the loop's one-thread time, `streams` arrays of n values through the caches,
// against the cost of starting the threads). The `if` is qualified with `parallel:` on purpose:
// an unqualified if on "parallel for simd" also turns the simd part off, and small arrays would
// run as scalar loops.
#include <cmath>

#include "core/parallel.h"
#include "kernels/elementwise.h"

namespace minidl::cpu {


template <class T>
void axpby(T alpha, const T* a, T beta, const T* b, T* y, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 3))
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * a[i] + beta * b[i];
}

template <class T>
void mul(const T* a, const T* b, T* y, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 3))
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

template <class T>
void affine(const T* x, T scale, T shift, T* y, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 2))
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

template <class T>
void relu_fwd(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 2))
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
void relu_bwd(const T* y, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 3))
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

// silu: the reference's formulas; an exp per element, so the split counts it as ~4 streams.
template <class T>
void silu_fwd(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 4))
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (T(1) + std::exp(-x[i]));
}

template <class T>
void silu_bwd(const T* x, const T* dy, T* dx, int64_t n) {
#pragma omp parallel for simd if (parallel : streaming_pays<T>(n, 5))
  for (int64_t i = 0; i < n; ++i) {
    const T s = T(1) / (T(1) + std::exp(-x[i]));
    dx[i] = dy[i] * s * (T(1) + x[i] * (T(1) - s));
  }
}

#define MINIDL_KERNELS(K) MINIDL_ELEMENTWISE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

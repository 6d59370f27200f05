// The elementwise reference (runs on the CPU): the executable specification of
// kernels/cuda/elementwise.cu and kernels/cpu/elementwise.cpp.
//   axpby:    y = alpha * a + beta * b
//   mul:      y = a * b
//   affine:   y = x * scale + shift
//   relu_fwd: y = max(x, 0)
//   relu_bwd: dx = dy * [y > 0]   (from the saved output y; [y > 0] == [x > 0])
//   silu_fwd: y = x s,  s = sigmoid(x) = 1 / (1 + exp(-x))
//   silu_bwd: dx = dy (s + x s (1 - s)) = dy s (1 + x (1 - s))   (from the saved input x)
#include <cmath>

#include "kernels/elementwise.h"

namespace minidl::ref {

template <class T>
void axpby(T alpha, const T* a, T beta, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * a[i] + beta * b[i];
}

template <class T>
void mul(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

template <class T>
void affine(const T* x, T scale, T shift, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

template <class T>
void relu_fwd(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
void relu_bwd(const T* y, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <class T>
void silu_fwd(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / (T(1) + std::exp(-x[i]));
}

template <class T>
void silu_bwd(const T* x, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = T(1) / (T(1) + std::exp(-x[i]));
    dx[i] = dy[i] * s * (T(1) + x[i] * (T(1) - s));
  }
}

#define MINIDL_KERNELS(K) MINIDL_ELEMENTWISE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

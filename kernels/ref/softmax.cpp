// The softmax reference (runs on the CPU): the executable specification of kernels/cpu/softmax.cpp
// and kernels/cuda/softmax.cu. x is viewed as [outer, D, inner]; every (o, i) is one row of D
// values, element k of it at x[(o D + k) inner + i].
//   softmax_fwd:     m = max_k x_k,  s = sum_k exp(x_k - m),  y_k = exp(x_k - m) / s
//   log_softmax_fwd: y_k = (x_k - m) - log(s)
// Subtracting the max makes every exponent <= 0: no overflow for logits like 1000, and the
// largest term is exactly 1, so s >= 1 and log(s) is finite.
// Backward, from the saved output y (dL/dx = J^T dy with the Jacobian diag(y) - y y^T):
//   softmax_bwd:     dx_k = y_k (dy_k - sum_j dy_j y_j)
//   log_softmax_bwd: dx_k = dy_k - exp(y_k) sum_j dy_j
// Row sums accumulate in double. OpenMP over the rows.
#include <cmath>

#include "kernels/softmax.h"

namespace minidl::ref {

namespace {

// fn(row pointer offset) for every row (o, i); a row's element k is at offset + k * inner.
template <class Fn>
void for_each_row(int64_t outer, int64_t inner, const Fn& fn) {
#pragma omp parallel for collapse(2)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) fn(o, i);
}

template <class T, bool kLog>
void forward(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  for_each_row(outer, inner, [&](int64_t o, int64_t i) {
    const T* xr = x + o * D * inner + i;
    T* yr = y + o * D * inner + i;
    T m = xr[0];
    for (int64_t k = 1; k < D; ++k) m = xr[k * inner] > m ? xr[k * inner] : m;
    double s = 0.0;
    for (int64_t k = 0; k < D; ++k) s += std::exp(xr[k * inner] - m);
    const double log_s = std::log(s);
    for (int64_t k = 0; k < D; ++k) {
      const T z = xr[k * inner] - m;
      yr[k * inner] = kLog ? static_cast<T>(z - log_s) : static_cast<T>(std::exp(z) / s);
    }
  });
}

template <class T, bool kLog>
void backward(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  for_each_row(outer, inner, [&](int64_t o, int64_t i) {
    const int64_t base = o * D * inner + i;
    double s = 0.0;  // log_softmax: sum dy;  softmax: sum dy * y
    for (int64_t k = 0; k < D; ++k) {
      const int64_t j = base + k * inner;
      s += kLog ? static_cast<double>(dy[j]) : static_cast<double>(dy[j]) * y[j];
    }
    for (int64_t k = 0; k < D; ++k) {
      const int64_t j = base + k * inner;
      dx[j] = kLog ? static_cast<T>(dy[j] - std::exp(static_cast<double>(y[j])) * s)
                   : static_cast<T>(y[j] * (dy[j] - s));
    }
  });
}

}  // namespace

template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  forward<T, false>(x, y, outer, D, inner);
}
template <class T>
void log_softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  forward<T, true>(x, y, outer, D, inner);
}
template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  backward<T, false>(y, dy, dx, outer, D, inner);
}
template <class T>
void log_softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  backward<T, true>(y, dy, dx, outer, D, inner);
}

#define MINIDL_KERNELS(K) MINIDL_SOFTMAX_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

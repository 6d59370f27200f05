// CUDA elementwise kernels (same math as kernels/ref/elementwise.cpp):
//   axpby:    y = alpha * a + beta * b
//   mul:      y = a * b
//   affine:   y = x * scale + shift
//   relu_fwd: y = max(x, 0);   relu_bwd: dx = dy * [y > 0]
//   silu_fwd: y = x s;         silu_bwd: dx = dy s (1 + x (1 - s)),  s = 1 / (1 + exp(-x))
// Thread mapping: one thread per element, grid-stride loop (grid capped in grid_for), so any n
// works with a bounded grid. Memory-bound: each element is read and written once.
#include "core/cuda_utils.cuh"
#include "kernels/elementwise.h"

namespace minidl::cuda {
namespace {

template <class T>
__global__ void axpby_kernel(T alpha, const T* a, T beta, const T* b, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = alpha * a[i] + beta * b[i];
}
template <class T>
__global__ void mul_kernel(const T* a, const T* b, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = a[i] * b[i];
}
template <class T>
__global__ void affine_kernel(const T* x, T scale, T shift, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = x[i] * scale + shift;
}
template <class T>
__global__ void relu_fwd_kernel(const T* x, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <class T>
__global__ void relu_bwd_kernel(const T* y, const T* dy, T* dx, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

template <class T>
__global__ void silu_fwd_kernel(const T* x, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = x[i] / (T(1) + dexp(-x[i]));
}
template <class T>
__global__ void silu_bwd_kernel(const T* x, const T* dy, T* dx, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    const T s = T(1) / (T(1) + dexp(-x[i]));
    dx[i] = dy[i] * s * (T(1) + x[i] * (T(1) - s));
  }
}

}  // namespace

template <class T>
void axpby(T alpha, const T* a, T beta, const T* b, T* y, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, axpby_kernel)(alpha, a, beta, b, y, n);
}
template <class T>
void mul(const T* a, const T* b, T* y, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, mul_kernel)(a, b, y, n);
}
template <class T>
void affine(const T* x, T scale, T shift, T* y, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, affine_kernel)(x, scale, shift, y, n);
}
template <class T>
void relu_fwd(const T* x, T* y, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, relu_fwd_kernel)(x, y, n);
}
template <class T>
void relu_bwd(const T* y, const T* dy, T* dx, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, relu_bwd_kernel)(y, dy, dx, n);
}

template <class T>
void silu_fwd(const T* x, T* y, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, silu_fwd_kernel)(x, y, n);
}
template <class T>
void silu_bwd(const T* x, const T* dy, T* dx, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, silu_bwd_kernel)(x, dy, dx, n);
}

#define MINIDL_KERNELS(K) MINIDL_ELEMENTWISE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

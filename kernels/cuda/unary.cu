// CUDA kernels of the pointwise unary ops: the formulas of kernels/unary_math.h (shared with the
// reference, kernels/ref/unary.cpp), one kernel per op and direction, picked on the host.
//   unary_fwd: y[i] = f(x[i]; a, b)
//   unary_bwd: dx[i] = dy[i] * f'(x[i], y[i]; a, b)
// Thread mapping: one thread per element, grid-stride loop (grid capped in grid_for), so any n
// works with a bounded grid. Memory-bound: each element is read and written once.
#include "core/cuda_utils.cuh"
#include "kernels/unary.h"

namespace minidl::cuda {
namespace {

template <class Op, class T>
__global__ void unary_fwd_kernel(T a, T b, const T* x, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = Op::f(x[i], a, b);
}

template <class Op, class T>
__global__ void unary_bwd_kernel(T a, T b, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) dx[i] = dy[i] * Op::df(x[i], y[i], a, b);
}

}  // namespace

template <class T>
void unary_fwd(UnaryOp op, T a, T b, const T* x, T* y, int64_t n) {
  if (n == 0) return;
  switch (op) {
#define MINIDL_UNARY_CASE_(name, S)                                                  \
  case UnaryOp::S:                                                                   \
    MINIDL_LAUNCH(grid_for(n), kBlock, unary_fwd_kernel<unary::S, T>)(a, b, x, y, n); \
    return;
    MINIDL_UNARY_OPS(MINIDL_UNARY_CASE_)
#undef MINIDL_UNARY_CASE_
  }
}

template <class T>
void unary_bwd(UnaryOp op, T a, T b, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  if (n == 0) return;
  switch (op) {
#define MINIDL_UNARY_CASE_(name, S)                                                             \
  case UnaryOp::S:                                                                              \
    MINIDL_LAUNCH(grid_for(n), kBlock, unary_bwd_kernel<unary::S, T>)(a, b, x, y, dy, dx, n); \
    return;
    MINIDL_UNARY_OPS(MINIDL_UNARY_CASE_)
#undef MINIDL_UNARY_CASE_
  }
}

#define MINIDL_KERNELS(K) MINIDL_UNARY_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

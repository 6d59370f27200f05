// The pointwise unary reference (runs on the CPU): one plain loop per op over the formulas of
// kernels/unary_math.h (the math, with every op's derivative, is written there once, for this
// file and kernels/cuda/unary.cu alike).
//   unary_fwd: y[i] = f(x[i]; a, b)
//   unary_bwd: dx[i] = dy[i] * f'(x[i], y[i]; a, b)
#include "kernels/unary.h"

namespace minidl::ref {
namespace {

template <class Op, class T>
void forward(T a, T b, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = Op::f(x[i], a, b);
}

template <class Op, class T>
void backward(T a, T b, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * Op::df(x[i], y[i], a, b);
}

}  // namespace

template <class T>
void unary_fwd(UnaryOp op, T a, T b, const T* x, T* y, int64_t n) {
  switch (op) {
#define MINIDL_UNARY_CASE_(name, S) \
  case UnaryOp::S:                  \
    return forward<unary::S>(a, b, x, y, n);
    MINIDL_UNARY_OPS(MINIDL_UNARY_CASE_)
#undef MINIDL_UNARY_CASE_
  }
}

template <class T>
void unary_bwd(UnaryOp op, T a, T b, const T* x, const T* y, const T* dy, T* dx, int64_t n) {
  switch (op) {
#define MINIDL_UNARY_CASE_(name, S) \
  case UnaryOp::S:                  \
    return backward<unary::S>(a, b, x, y, dy, dx, n);
    MINIDL_UNARY_OPS(MINIDL_UNARY_CASE_)
#undef MINIDL_UNARY_CASE_
  }
}

#define MINIDL_KERNELS(K) MINIDL_UNARY_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

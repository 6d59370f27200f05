// The math of the broadcasting binary ops, written once for the CPU reference
// (kernels/ref/broadcast.cpp) and the CUDA kernels (kernels/cuda/broadcast.cu). Each op is a
// struct with f(a, b) and the partial derivatives da(a, b) = dy/da, db(a, b) = dy/db:
//   add      y = a + b         da = 1        db = 1
//   sub      y = a - b         da = 1        db = -1
//   mul      y = a b           da = b        db = a
//   div      y = a / b         da = 1 / b    db = -a / b^2
//   maximum  y = max(a, b)     da = 1 if a > b, 1/2 if a == b, else 0 (PyTorch splits ties)
//   minimum  y = min(a, b)     da = 1 if a < b, 1/2 if a == b, else 0; db the mirror image
// NaN propagates through maximum / minimum, as in PyTorch.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define MINIDL_BINARY_FN __host__ __device__ __forceinline__
#else
#define MINIDL_BINARY_FN inline
#endif

namespace minidl {

#define MINIDL_BINARY_OPS(X) X(add, Add) X(sub, Sub) X(mul, Mul) X(div, Div) X(maximum, Maximum) X(minimum, Minimum)

enum class BinaryOp : int32_t {
#define MINIDL_BINARY_ENUM_(name, S) S,
  MINIDL_BINARY_OPS(MINIDL_BINARY_ENUM_)
#undef MINIDL_BINARY_ENUM_
};
const char* binary_op_name(BinaryOp op);  // "maximum"

// Where an output element reads its inputs: for output index (i_0, ..., i_{ndim-1}) of `shape`,
// a's element is sum_d i_d * a_stride[d] (0 along a dimension a is broadcast along), b's likewise.
struct BroadcastIndex {
  static constexpr int kMaxDims = 8;
  int32_t ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t a_stride[kMaxDims] = {};
  int64_t b_stride[kMaxDims] = {};
};

// The offsets into a and b of output element i (row-major).
MINIDL_BINARY_FN void broadcast_offsets(const BroadcastIndex& ix, int64_t i, int64_t& a_off, int64_t& b_off) {
  a_off = 0, b_off = 0;
  for (int d = ix.ndim - 1; d >= 0; --d) {
    const int64_t k = i % ix.shape[d];
    i /= ix.shape[d];
    a_off += k * ix.a_stride[d];
    b_off += k * ix.b_stride[d];
  }
}

namespace binary {

struct Add {
  template <class T> static MINIDL_BINARY_FN T f(T a, T b) { return a + b; }
  template <class T> static MINIDL_BINARY_FN T da(T, T) { return T(1); }
  template <class T> static MINIDL_BINARY_FN T db(T, T) { return T(1); }
};
struct Sub {
  template <class T> static MINIDL_BINARY_FN T f(T a, T b) { return a - b; }
  template <class T> static MINIDL_BINARY_FN T da(T, T) { return T(1); }
  template <class T> static MINIDL_BINARY_FN T db(T, T) { return T(-1); }
};
struct Mul {
  template <class T> static MINIDL_BINARY_FN T f(T a, T b) { return a * b; }
  template <class T> static MINIDL_BINARY_FN T da(T, T b) { return b; }
  template <class T> static MINIDL_BINARY_FN T db(T a, T) { return a; }
};
struct Div {
  template <class T> static MINIDL_BINARY_FN T f(T a, T b) { return a / b; }
  template <class T> static MINIDL_BINARY_FN T da(T, T b) { return T(1) / b; }
  template <class T> static MINIDL_BINARY_FN T db(T a, T b) { return -a / (b * b); }
};
struct Maximum {
  template <class T> static MINIDL_BINARY_FN T f(T a, T b) { return a != a ? a : (b != b ? b : (a < b ? b : a)); }
  template <class T> static MINIDL_BINARY_FN T da(T a, T b) { return a > b ? T(1) : (a == b ? T(0.5) : T(0)); }
  template <class T> static MINIDL_BINARY_FN T db(T a, T b) { return b > a ? T(1) : (a == b ? T(0.5) : T(0)); }
};
struct Minimum {
  template <class T> static MINIDL_BINARY_FN T f(T a, T b) { return a != a ? a : (b != b ? b : (b < a ? b : a)); }
  template <class T> static MINIDL_BINARY_FN T da(T a, T b) { return a < b ? T(1) : (a == b ? T(0.5) : T(0)); }
  template <class T> static MINIDL_BINARY_FN T db(T a, T b) { return b < a ? T(1) : (a == b ? T(0.5) : T(0)); }
};

}  // namespace binary
}  // namespace minidl

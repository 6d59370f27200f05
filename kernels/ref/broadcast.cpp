// The broadcasting binary reference (runs on the CPU): one plain loop per op over the output,
// reading each input through its broadcast strides (kernels/binary_math.h holds the formulas).
//   binary_fwd: y[i] = f(a[ia(i)], b[ib(i)])
//   binary_bwd: da[i] = dy[i] * df/da(a[ia(i)], b[ib(i)]),  db[i] = dy[i] * df/db(...)   (output-shaped)
#include "kernels/broadcast.h"

namespace minidl::ref {
namespace {

template <class Op, class T>
void forward(const BroadcastIndex& ix, const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia, ib;
    broadcast_offsets(ix, i, ia, ib);
    y[i] = Op::f(a[ia], b[ib]);
  }
}

template <class Op, class T>
void backward(const BroadcastIndex& ix, const T* a, const T* b, const T* dy, T* da, T* db, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia, ib;
    broadcast_offsets(ix, i, ia, ib);
    if (da) da[i] = dy[i] * Op::da(a[ia], b[ib]);
    if (db) db[i] = dy[i] * Op::db(a[ia], b[ib]);
  }
}

}  // namespace

template <class T>
void binary_fwd(BinaryOp op, BroadcastIndex ix, const T* a, const T* b, T* y, int64_t n) {
  switch (op) {
#define MINIDL_BINARY_CASE_(name, S) \
  case BinaryOp::S:                  \
    return forward<binary::S>(ix, a, b, y, n);
    MINIDL_BINARY_OPS(MINIDL_BINARY_CASE_)
#undef MINIDL_BINARY_CASE_
  }
}

template <class T>
void binary_bwd(BinaryOp op, BroadcastIndex ix, const T* a, const T* b, const T* dy, T* da, T* db, int64_t n) {
  switch (op) {
#define MINIDL_BINARY_CASE_(name, S) \
  case BinaryOp::S:                  \
    return backward<binary::S>(ix, a, b, dy, da, db, n);
    MINIDL_BINARY_OPS(MINIDL_BINARY_CASE_)
#undef MINIDL_BINARY_CASE_
  }
}

#define MINIDL_KERNELS(K) MINIDL_BROADCAST_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

// CUDA kernels of the broadcasting binary ops (same math as kernels/ref/broadcast.cpp, from
// kernels/binary_math.h): one thread per output element, grid-stride loop; each thread finds its
// inputs' elements through the broadcast strides (BroadcastIndex, passed by value: < 256 bytes).
//   binary_fwd: y[i] = f(a[ia(i)], b[ib(i)])
//   binary_bwd: da[i] = dy[i] * df/da, db[i] = dy[i] * df/db   (output-shaped; summed down on the host side)
#include "core/cuda_utils.cuh"
#include "kernels/broadcast.h"

namespace minidl::cuda {
namespace {

template <class Op, class T>
__global__ void binary_fwd_kernel(BroadcastIndex ix, const T* a, const T* b, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    int64_t ia, ib;
    broadcast_offsets(ix, i, ia, ib);
    y[i] = Op::f(a[ia], b[ib]);
  }
}

template <class Op, class T>
__global__ void binary_bwd_kernel(BroadcastIndex ix, const T* a, const T* b, const T* dy, T* da, T* db, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    int64_t ia, ib;
    broadcast_offsets(ix, i, ia, ib);
    if (da) da[i] = dy[i] * Op::da(a[ia], b[ib]);
    if (db) db[i] = dy[i] * Op::db(a[ia], b[ib]);
  }
}

}  // namespace

template <class T>
void binary_fwd(BinaryOp op, BroadcastIndex ix, const T* a, const T* b, T* y, int64_t n) {
  if (n == 0) return;
  switch (op) {
#define MINIDL_BINARY_CASE_(name, S)                                                     \
  case BinaryOp::S:                                                                      \
    MINIDL_LAUNCH(grid_for(n), kBlock, binary_fwd_kernel<binary::S, T>)(ix, a, b, y, n); \
    return;
    MINIDL_BINARY_OPS(MINIDL_BINARY_CASE_)
#undef MINIDL_BINARY_CASE_
  }
}

template <class T>
void binary_bwd(BinaryOp op, BroadcastIndex ix, const T* a, const T* b, const T* dy, T* da, T* db, int64_t n) {
  if (n == 0) return;
  switch (op) {
#define MINIDL_BINARY_CASE_(name, S)                                                                  \
  case BinaryOp::S:                                                                                   \
    MINIDL_LAUNCH(grid_for(n), kBlock, binary_bwd_kernel<binary::S, T>)(ix, a, b, dy, da, db, n);     \
    return;
    MINIDL_BINARY_OPS(MINIDL_BINARY_CASE_)
#undef MINIDL_BINARY_CASE_
  }
}

#define MINIDL_KERNELS(K) MINIDL_BROADCAST_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

// The strided copy of the shape ops (runs on the CPU): the executable specification of
// kernels/cuda/shape.cu.
//   for every index i of ix.shape: dst[dst_base + <i, b_stride>] = src[src_base + <i, a_stride>]
#include "kernels/shape.h"

namespace minidl::ref {

template <class T>
void strided_copy(BroadcastIndex ix, const T* src, int64_t src_base, T* dst, int64_t dst_base, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t s, d;
    broadcast_offsets(ix, i, s, d);
    dst[dst_base + d] = src[src_base + s];
  }
}

#define MINIDL_KERNELS(K) MINIDL_SHAPE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

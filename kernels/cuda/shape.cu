// CUDA strided copy of the shape ops (same as kernels/ref/shape.cpp): one thread per element of
// the iteration shape, grid-stride loop; BroadcastIndex (< 256 bytes) is passed by value.
//   dst[dst_base + <i, b_stride>] = src[src_base + <i, a_stride>]
// Every destination element is written by exactly one thread (the destination strides of each
// caller never map two indices to one element), so there are no races.
#include "core/cuda_utils.cuh"
#include "kernels/shape.h"

namespace minidl::cuda {
namespace {

template <class T>
__global__ void strided_copy_kernel(BroadcastIndex ix, const T* src, int64_t src_base, T* dst, int64_t dst_base,
                                    int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    int64_t s, d;
    broadcast_offsets(ix, i, s, d);
    dst[dst_base + d] = src[src_base + s];
  }
}

}  // namespace

template <class T>
void strided_copy(BroadcastIndex ix, const T* src, int64_t src_base, T* dst, int64_t dst_base, int64_t n) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, strided_copy_kernel<T>)(ix, src, src_base, dst, dst_base, n);
}

#define MINIDL_KERNELS(K) MINIDL_SHAPE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

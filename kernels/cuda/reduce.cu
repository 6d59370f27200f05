// CUDA reductions over the middle axis of x[outer, d, inner] (same math as kernels/cpu/reduce.cpp):
//   sum_dim:       y[o, i]     = scale * sum_{k < d} x[o, k, i]
//   broadcast_dim: dx[o, k, i] = scale * dy[o, i]
// Thread mapping.
//   inner == 1 (rows are contiguous): a block of 256 threads reduces one chunk of one row
//     (strided loads, then block_reduce_sum). Long rows are split into chunks across blocks
//     and a second launch sums the per-chunk partials, so one huge sum still fills the GPU.
//     The (row, chunk) pairs are flattened into a 1-D grid that blocks stride over (gridDim.y
//     would cap the rows at 65535).
//   inner > 1: one thread per output (o, i), looping over k; neighbouring threads read
//     neighbouring addresses, so loads coalesce.
//   broadcast_dim: one thread per element of dx (grid-stride).
// Partial sums accumulate in T (float for float32, like PyTorch); block trees keep the error small.
#include <algorithm>

#include "core/cuda_utils.cuh"
#include "core/tensor.h"
#include "kernels/reduce.h"

namespace minidl::cuda {
namespace {

constexpr int kChunk = 256 * 64;  // elements per block along a long row

// out[row * chunks + chunk] = scale * sum of chunk `chunk` of row `row`; work item b = (row, chunk)
// flattened. The loop bound is the same for every thread of a block, so block_reduce_sum's
// barriers are reached by all of them.
template <class T>
__global__ void sum_rows_kernel(const T* x, T* out, int64_t rows, int64_t d, int64_t chunks, T scale) {
  for (int64_t b = blockIdx.x; b < rows * chunks; b += gridDim.x) {
    const int64_t row = b / chunks, chunk = b % chunks;
    const int64_t begin = chunk * static_cast<int64_t>(kChunk);
    const int64_t end = chunks == 1 ? d : min(d, begin + kChunk);
    const T* p = x + row * d;
    T acc = 0;
    for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x) acc += p[k];
    acc = block_reduce_sum(acc);
    if (threadIdx.x == 0) out[b] = acc * scale;
  }
}

template <class T>
__global__ void sum_strided_kernel(const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale) {
  MINIDL_GRID_STRIDE_LOOP(idx, outer * inner) {
    const int64_t o = idx / inner, i = idx % inner;
    const T* p = x + o * d * inner + i;
    T acc = 0;
    for (int64_t k = 0; k < d; ++k) acc += p[k * inner];
    y[idx] = acc * scale;
  }
}

template <class T>
__global__ void broadcast_kernel(const T* dy, T* dx, int64_t d, int64_t inner, int64_t n, T scale) {
  MINIDL_GRID_STRIDE_LOOP(idx, n) {
    const int64_t i = idx % inner, o = idx / (d * inner);
    dx[idx] = scale * dy[o * inner + i];
  }
}

}  // namespace

template <class T>
void sum_dim(const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale) {
  if (outer * inner == 0) return;
  if (inner == 1) {
    const int64_t chunks = outer >= 64 ? 1 : std::max<int64_t>(1, (d + kChunk - 1) / kChunk);
    if (chunks == 1) {
      MINIDL_LAUNCH(grid_for(outer, 1), kBlock, sum_rows_kernel)(x, y, outer, d, 1, scale);
      return;
    }
    Tensor partial = empty({outer, chunks}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
    MINIDL_LAUNCH(grid_for(outer * chunks, 1), kBlock, sum_rows_kernel)(x, partial.data<T>(), outer, d, chunks,
                                                                          T(1));
    MINIDL_LAUNCH(grid_for(outer, 1), kBlock, sum_rows_kernel)(partial.data<T>(), y, outer, chunks, 1, scale);
    return;
  }
  MINIDL_LAUNCH(grid_for(outer * inner), kBlock, sum_strided_kernel)(x, y, outer, d, inner, scale);
}

template <class T>
void broadcast_dim(const T* dy, T* dx, int64_t outer, int64_t d, int64_t inner, T scale) {
  const int64_t n = outer * d * inner;
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, broadcast_kernel)(dy, dx, d, inner, n, scale);
}

#define INSTANTIATE(T)                                                                 \
  template void sum_dim<T>(const T*, T*, int64_t, int64_t, int64_t, T);              \
  template void broadcast_dim<T>(const T*, T*, int64_t, int64_t, int64_t, T);
INSTANTIATE(float)
INSTANTIATE(double)
#undef INSTANTIATE

}  // namespace minidl::cuda

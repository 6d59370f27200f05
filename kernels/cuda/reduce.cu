// CUDA reductions over the middle axis of x[outer, d, inner] (same math as kernels/ref/reduce.cpp):
//   sum_dim:       y[o, i]     = scale * sum_{k < d} x[o, k, i]
//   broadcast_dim: dx[o, k, i] = scale * dy[o, i]
// Sums accumulate in double, also for float32 (the contract of kernels/reduce.h, as on the CPU):
// a mean over millions of float32 values then keeps float32's precision (float accumulators
// lost ~1e-5 relative on 4M rows). The loads dominate the time, so the wider adds are free.
// Thread mapping.
//   inner == 1 (rows are contiguous), rows of more than 32 values: a block of 256 threads
//     reduces one chunk of one row (strided loads, then block_reduce_sum). Long rows are split
//     into chunks across blocks and a second launch sums the per-chunk partials (kept in
//     double), so one huge sum still fills the GPU. The (row, chunk) pairs are flattened into a
//     1-D grid that blocks stride over (gridDim.y would cap the rows at 65535).
//   inner > 1 with many outputs, or rows of at most 32 values: one thread per output (o, i),
//     looping over k; neighbouring threads read neighbouring addresses (or, for short rows,
//     neighbouring rows), so loads coalesce or share cache lines.
//   inner > 1, few outputs (e.g. sum over dim 0 of a [4M, 3] tensor): a block per (o, tile of up
//     to 32 consecutive i, chunk of k), threads laid out [ty][tx] (tx along i, ty along k), a
//     shared-memory tree over ty, and, for several chunks, the same second launch as above.
//   broadcast_dim: one thread per element of dx (grid-stride).
#include <algorithm>

#include "core/cuda_utils.cuh"
#include "core/tensor.h"
#include "kernels/reduce.h"

namespace minidl::cuda {
namespace {

constexpr int kChunk = 256 * 64;          // elements per block along a long row
constexpr int64_t kFewOutputs = 65536;    // fewer outputs than this: a block per tile of outputs
constexpr int64_t kTargetBlocks = 1024;   // enough blocks to fill a large GPU several times
constexpr int64_t kMinRowsPerThread = 16; // a column chunk gives each thread at least this many
constexpr int64_t kShortRow = 32;         // rows this short: a thread per row, not a block

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Tensor doubles(int64_t n) { return empty({n}, TensorOptions().dtype(DType::Float64).device(Device::cuda())); }

// out[row * chunks + chunk] = scale * sum of chunk `chunk` of row `row`; work item b = (row, chunk)
// flattened. In: T or the double partials of a first pass; Out: T or double partials. The loop
// bound is the same for every thread of a block, so block_reduce_sum's barriers are reached by
// all of them.
template <class In, class Out>
__global__ void sum_rows_kernel(const In* x, Out* out, int64_t rows, int64_t d, int64_t chunks, double scale) {
  for (int64_t b = blockIdx.x; b < rows * chunks; b += gridDim.x) {
    const int64_t row = b / chunks, chunk = b % chunks;
    const int64_t begin = chunk * static_cast<int64_t>(kChunk);
    const int64_t end = chunks == 1 ? d : min(d, begin + kChunk);
    const In* p = x + row * d;
    double acc = 0;
    for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x) acc += p[k];
    acc = block_reduce_sum(acc);
    if (threadIdx.x == 0) out[b] = static_cast<Out>(acc * scale);
  }
}

template <class T>
__global__ void sum_strided_kernel(const T* x, T* y, int64_t outer, int64_t d, int64_t inner, double scale) {
  MINIDL_GRID_STRIDE_LOOP(idx, outer * inner) {
    const int64_t o = idx / inner, i = idx % inner;
    const T* p = x + o * d * inner + i;
    double acc = 0;
    for (int64_t k = 0; k < d; ++k) acc += p[k * inner];
    y[idx] = static_cast<T>(acc * scale);
  }
}

// Few outputs: work item b = (o, tile, chunk); thread (tx, ty) sums x[o, k, tile * tx_dim + tx]
// over the chunk's k = ty, ty + ty_dim, ...; then a tree over ty in shared memory.
// out[(o * inner + i) * chunks + chunk] = scale * the chunk's sum (Out: T, or double partials).
template <class T, class Out>
__global__ void sum_cols_kernel(const T* x, Out* out, int64_t outer, int64_t d, int64_t inner, int64_t chunks,
                                int64_t rows_per_chunk, int tx_dim, double scale) {
  __shared__ double part[256];
  const int tx = threadIdx.x % tx_dim, ty = threadIdx.x / tx_dim, ty_dim = blockDim.x / tx_dim;
  const int64_t tiles = (inner + tx_dim - 1) / tx_dim;
  for (int64_t b = blockIdx.x; b < outer * tiles * chunks; b += gridDim.x) {
    const int64_t chunk = b % chunks, tile = b / chunks % tiles, o = b / chunks / tiles;
    const int64_t i = tile * tx_dim + tx, k0 = chunk * rows_per_chunk, k1 = min(d, k0 + rows_per_chunk);
    double acc = 0;
    if (i < inner)
      for (int64_t k = k0 + ty; k < k1; k += ty_dim) acc += x[(o * d + k) * inner + i];
    __syncthreads();  // part may still be read by the previous work item
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = ty_dim / 2; s > 0; s /= 2) {
      if (ty < s) part[threadIdx.x] += part[threadIdx.x + s * tx_dim];
      __syncthreads();
    }
    if (ty == 0 && i < inner) out[(o * inner + i) * chunks + chunk] = static_cast<Out>(part[tx] * scale);
  }
}

template <class T>
__global__ void broadcast_kernel(const T* dy, T* dx, int64_t d, int64_t inner, int64_t n, T scale) {
  MINIDL_GRID_STRIDE_LOOP(idx, n) {
    const int64_t i = idx % inner, o = idx / (d * inner);
    dx[idx] = scale * dy[o * inner + i];
  }
}

// y[r] = scale * sum of the double partials part[r, 0 .. chunks).
template <class T>
void sum_partials(const double* part, T* y, int64_t rows, int64_t chunks, double scale) {
  MINIDL_LAUNCH(grid_for(rows, 1), kBlock, sum_rows_kernel)(part, y, rows, chunks, int64_t(1), scale);
}

}  // namespace

template <class T>
void sum_dim(const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale_t) {
  if (outer * inner == 0) return;
  const double scale = static_cast<double>(scale_t);
  if (inner == 1 && d > kShortRow) {
    const int64_t chunks = outer >= 64 ? 1 : std::max<int64_t>(1, ceil_div(d, kChunk));
    if (chunks == 1) {
      MINIDL_LAUNCH(grid_for(outer, 1), kBlock, sum_rows_kernel)(x, y, outer, d, int64_t(1), scale);
      return;
    }
    Tensor partial = doubles(outer * chunks);
    MINIDL_LAUNCH(grid_for(outer * chunks, 1), kBlock, sum_rows_kernel)(x, partial.data<double>(), outer, d, chunks,
                                                                        1.0);
    sum_partials(partial.data<double>(), y, outer, chunks, scale);
    return;
  }
  if (inner == 1 || outer * inner >= kFewOutputs) {
    MINIDL_LAUNCH(grid_for(outer * inner), kBlock, sum_strided_kernel)(x, y, outer, d, inner, scale);
    return;
  }
  int tx = 1;
  while (tx < inner && tx < 32) tx *= 2;
  const int64_t ty = kBlock / tx, tiles = ceil_div(inner, tx);
  const int64_t chunks = std::clamp(ceil_div(kTargetBlocks, outer * tiles), int64_t{1},
                                    std::max<int64_t>(1, d / (ty * kMinRowsPerThread)));
  const int64_t rows_per_chunk = ceil_div(d, chunks);
  const unsigned grid = grid_for(outer * tiles * chunks, 1);
  if (chunks == 1) {
    MINIDL_LAUNCH(grid, kBlock, sum_cols_kernel)(x, y, outer, d, inner, chunks, rows_per_chunk, tx, scale);
    return;
  }
  Tensor partial = doubles(outer * inner * chunks);
  MINIDL_LAUNCH(grid, kBlock, sum_cols_kernel)(x, partial.data<double>(), outer, d, inner, chunks, rows_per_chunk, tx,
                                               1.0);
  sum_partials(partial.data<double>(), y, outer * inner, chunks, scale);
}

template <class T>
void broadcast_dim(const T* dy, T* dx, int64_t outer, int64_t d, int64_t inner, T scale) {
  const int64_t n = outer * d * inner;
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, broadcast_kernel)(dy, dx, d, inner, n, scale);
}

#define MINIDL_KERNELS(K) MINIDL_REDUCE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

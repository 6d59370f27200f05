// CUDA softmax kernels (same math as kernels/ref/softmax.cpp). x is viewed as [outer, D, inner];
// every (o, i) is one row of D values.
//   forward:  m = max_k x_k, s = sum_k exp(x_k - m)
//             softmax: y = exp(x - m) / s          log_softmax: y = (x - m) - log(s)
//   backward, from the saved output y:
//             softmax: dx = y (dy - sum_k dy_k y_k)   log_softmax: dx = dy - exp(y) sum_k dy_k
// Thread mapping.
//   inner == 1, D <= 1024: a group of W lanes per row, W = the power of two >= D capped at 32
//     (W = 32: one warp per row), 256 / W rows per 256-thread block: a [512, 10] softmax puts
//     two rows in each warp instead of leaving 22 of 32 lanes idle. Lanes stride over the row;
//     the max and the sums are butterfly shuffles inside the group (__shfl_xor_sync with width
//     W), so every lane gets the result without shared memory or __syncthreads.
//   inner == 1, D > 1024: one 512-thread block per row; block reductions (warp shuffles, then one
//     value per warp through shared memory).
//   inner > 1 (e.g. over the channels of NCHW): one thread per (o, i) walking k; neighbouring
//     threads read neighbouring addresses, so every load coalesces.
// Row sums accumulate in T (float for float32, like PyTorch): a row is one distribution (10 to a
// few thousand values, strided partial sums and then a tree), where float keeps ~1e-6 relative;
// the sums over whole batches or images elsewhere (reduce, bias, norm, loss) are double. The
// forward recomputes exp in its last pass instead of writing it twice. Saved for backward: only
// y (kept by the front-end).
#include <type_traits>

#include "core/cuda_utils.cuh"
#include "kernels/softmax.h"

namespace minidl::cuda {
namespace {

constexpr int kRowBlock = 512;  // threads per block when one block owns one long row

// Where a thread works in the row kernels: its row, its first column, the column stride.
template <int W>
struct RowSlot {
  int64_t row;
  int lane, lanes;
  __device__ RowSlot()
      : row(W == 0 ? static_cast<int64_t>(blockIdx.x)
                   : static_cast<int64_t>(blockIdx.x) * (blockDim.x / W) + threadIdx.x / W),
        lane(W == 0 ? threadIdx.x : threadIdx.x % W),
        lanes(W == 0 ? blockDim.x : W) {}
};

template <class T, bool kLog, int W>
__global__ void fwd_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t D) {
  const RowSlot<W> t;
  const bool valid = t.row < rows;  // lanes past the end still take part in the shuffles
  const T* xr = x + (valid ? t.row : 0) * D;
  T m = neg_inf<T>();
  if (valid)
    for (int64_t k = t.lane; k < D; k += t.lanes) m = dmax(m, xr[k]);
  m = group_max<W>(m);
  T s = 0;
  if (valid)
    for (int64_t k = t.lane; k < D; k += t.lanes) s += dexp(xr[k] - m);
  s = group_sum<W>(s);
  if (!valid) return;
  T* yr = y + t.row * D;
  if constexpr (kLog) {
    const T log_s = dlog(s);
    for (int64_t k = t.lane; k < D; k += t.lanes) yr[k] = (xr[k] - m) - log_s;
  } else {
    const T inv = T(1) / s;
    for (int64_t k = t.lane; k < D; k += t.lanes) yr[k] = dexp(xr[k] - m) * inv;
  }
}

template <class T, bool kLog, int W>
__global__ void bwd_rows_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx, int64_t rows,
                                int64_t D) {
  const RowSlot<W> t;
  const bool valid = t.row < rows;
  const int64_t base = (valid ? t.row : 0) * D;
  T s = 0;  // softmax: sum dy * y;  log_softmax: sum dy
  if (valid)
    for (int64_t k = t.lane; k < D; k += t.lanes) s += kLog ? dy[base + k] : dy[base + k] * y[base + k];
  s = group_sum<W>(s);
  if (!valid) return;
  for (int64_t k = t.lane; k < D; k += t.lanes) {
    const int64_t j = base + k;
    dx[j] = kLog ? dy[j] - dexp(y[j]) * s : y[j] * (dy[j] - s);
  }
}

template <class T, bool kLog>
__global__ void fwd_strided_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t D,
                                   int64_t inner) {
  MINIDL_GRID_STRIDE_LOOP(idx, outer * inner) {
    const int64_t o = idx / inner, i = idx % inner;
    const T* xp = x + o * D * inner + i;
    T* yp = y + o * D * inner + i;
    T m = xp[0];
    for (int64_t k = 1; k < D; ++k) m = dmax(m, xp[k * inner]);
    T s = 0;
    for (int64_t k = 0; k < D; ++k) s += dexp(xp[k * inner] - m);
    if constexpr (kLog) {
      const T log_s = dlog(s);
      for (int64_t k = 0; k < D; ++k) yp[k * inner] = (xp[k * inner] - m) - log_s;
    } else {
      const T inv = T(1) / s;
      for (int64_t k = 0; k < D; ++k) yp[k * inner] = dexp(xp[k * inner] - m) * inv;
    }
  }
}

template <class T, bool kLog>
__global__ void bwd_strided_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                   int64_t outer, int64_t D, int64_t inner) {
  MINIDL_GRID_STRIDE_LOOP(idx, outer * inner) {
    const int64_t o = idx / inner, i = idx % inner;
    const int64_t base = o * D * inner + i;
    T s = 0;
    for (int64_t k = 0; k < D; ++k) {
      const int64_t j = base + k * inner;
      s += kLog ? dy[j] : dy[j] * y[j];
    }
    for (int64_t k = 0; k < D; ++k) {
      const int64_t j = base + k * inner;
      dx[j] = kLog ? dy[j] - dexp(y[j]) * s : y[j] * (dy[j] - s);
    }
  }
}

// Calls fn(std::integral_constant<int, W>) with the group width for rows of length D.
template <class Fn>
void with_group_width(int64_t D, const Fn& fn) {
  if (D > 1024) fn(std::integral_constant<int, 0>{});
  else if (D > 16) fn(std::integral_constant<int, 32>{});
  else if (D > 8) fn(std::integral_constant<int, 16>{});
  else if (D > 4) fn(std::integral_constant<int, 8>{});
  else if (D > 2) fn(std::integral_constant<int, 4>{});
  else if (D > 1) fn(std::integral_constant<int, 2>{});
  else fn(std::integral_constant<int, 1>{});
}
// Launch shape for `rows` rows with groups of W lanes (W = 0: one block per row).
inline unsigned rows_grid(int64_t rows, int W) {
  const int64_t per_block = W == 0 ? 1 : kBlock / W;
  return static_cast<unsigned>((rows + per_block - 1) / per_block);
}
inline int rows_block(int W) { return W == 0 ? kRowBlock : kBlock; }

template <class T, bool kLog>
void fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  if (outer * D * inner == 0) return;
  if (inner > 1) {
    MINIDL_LAUNCH(grid_for(outer * inner), kBlock, fwd_strided_kernel<T, kLog>)(x, y, outer, D, inner);
    return;
  }
  with_group_width(D, [&](auto w) {
    constexpr int W = decltype(w)::value;
    MINIDL_LAUNCH(rows_grid(outer, W), rows_block(W), fwd_rows_kernel<T, kLog, W>)(x, y, outer, D);
  });
}

template <class T, bool kLog>
void bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  if (outer * D * inner == 0) return;
  if (inner > 1) {
    MINIDL_LAUNCH(grid_for(outer * inner), kBlock, bwd_strided_kernel<T, kLog>)(y, dy, dx, outer, D, inner);
    return;
  }
  with_group_width(D, [&](auto w) {
    constexpr int W = decltype(w)::value;
    MINIDL_LAUNCH(rows_grid(outer, W), rows_block(W), bwd_rows_kernel<T, kLog, W>)(y, dy, dx, outer, D);
  });
}

}  // namespace

template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  fwd<T, false>(x, y, outer, D, inner);
}
template <class T>
void log_softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  fwd<T, true>(x, y, outer, D, inner);
}
template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  bwd<T, false>(y, dy, dx, outer, D, inner);
}
template <class T>
void log_softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  bwd<T, true>(y, dy, dx, outer, D, inner);
}

#define MINIDL_KERNELS(K) MINIDL_SOFTMAX_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

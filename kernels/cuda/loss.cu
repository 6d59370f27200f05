// CUDA loss kernels (same math as kernels/ref/loss.cpp). Inputs are [N, C] rows, target[N].
//   nll_loss_fwd:      loss = -(1/N) sum_n lp[n, t_n]
//   nll_loss_bwd:      dlp = 0 except dlp[n, t_n] = -dloss / N
//   cross_entropy_fwd: per row, m = max_c x_c, lse = m + log sum_c exp(x_c - m),
//                      loss_n = lse - (1 - eps) x_t - (eps / C) sum_c x_c;  loss = mean_n loss_n
//   cross_entropy_bwd: dx_c = (dloss / N) (exp(x_c - lse) - q_c),  q = (1 - eps) onehot(t) + eps / C
// Thread mapping.
//   cross_entropy_fwd: one group of W lanes per row as in softmax.cu (W = the power of two >= C,
//     capped at 32; one 512-thread block per row when C > 1024), shuffle reductions; lane 0
//     writes lse[n] and the row's loss into a temporary [N] (from the caching allocator); then
//     one block sums the N row losses (a fixed order: the loss is deterministic, unlike atomics).
//   nll_loss_fwd: one block; threads stride over the rows, then a block reduction.
//   backward: one thread per element (grid-stride); dloss is read on the device (no sync).
// The batch means accumulate in double (N rows can be many); a row's sums over its C classes
// stay in T (short rows, shuffle trees).
// Labels: a kernel that meets a target outside [0, C) skips the row and writes {code, t, C}
// into status, the context's data-error slot (core/cuda_context.h): no synchronization here; the
// next synchronization point throws.
// Saved for backward (by the front-end): the logits and lse[N].
#include <type_traits>

#include "core/cuda_context.h"
#include "core/cuda_utils.cuh"
#include "core/tensor.h"
#include "kernels/loss.h"

namespace minidl::cuda {
namespace {

constexpr int kRowBlock = 512;  // threads per block when one block owns one long row

// status = {code, t, C}. Racing writers all store a bad label of the same op and C: whichever
// lands is a valid report.
__device__ inline void flag_bad_label(int64_t* status, DataError code, int64_t t, int64_t C) {
  status[1] = t;
  status[2] = C;
  status[0] = static_cast<int64_t>(code);
}

template <class T, int W>
__global__ void cross_entropy_fwd_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                                         T* __restrict__ row_loss, T* __restrict__ lse, int64_t N, int64_t C,
                                         T smoothing, int64_t* status) {
  const int64_t n = W == 0 ? static_cast<int64_t>(blockIdx.x)
                           : static_cast<int64_t>(blockIdx.x) * (blockDim.x / W) + threadIdx.x / W;
  const int lane = W == 0 ? threadIdx.x : threadIdx.x % W, lanes = W == 0 ? blockDim.x : W;
  const bool valid = n < N;  // lanes past the end still take part in the shuffles
  const T* xr = x + (valid ? n : 0) * C;
  T m = -static_cast<T>(INFINITY), sum_x = 0;
  if (valid)
    for (int64_t c = lane; c < C; c += lanes) m = dmax(m, xr[c]), sum_x += xr[c];
  m = group_max<W>(m);
  T s = 0;
  if (valid)
    for (int64_t c = lane; c < C; c += lanes) s += dexp(xr[c] - m);
  s = group_sum<W>(s);
  if (smoothing != T(0)) sum_x = group_sum<W>(sum_x);  // uniform branch: every lane agrees
  if (!valid || lane != 0) return;
  const T l = m + dlog(s);
  lse[n] = l;
  const int64_t t = target[n];
  if (t < 0 || t >= C) {
    flag_bad_label(status, DataError::CrossEntropyTarget, t, C);
    row_loss[n] = 0;
    return;
  }
  row_loss[n] = l - (T(1) - smoothing) * xr[t] - smoothing / static_cast<T>(C) * sum_x;
}

// out[0] = scale * sum_k v[k], one block (a fixed summation order).
template <class T>
__global__ void sum_scaled_kernel(const T* __restrict__ v, T* __restrict__ out, int64_t n, double scale) {
  double acc = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) acc += v[k];
  acc = block_reduce_sum(acc);
  if (threadIdx.x == 0) out[0] = static_cast<T>(acc * scale);
}

template <class T>
__global__ void nll_loss_fwd_kernel(const T* __restrict__ lp, const int64_t* __restrict__ target, T* __restrict__ loss,
                                    int64_t N, int64_t C, int64_t* status) {
  double acc = 0;
  for (int64_t n = threadIdx.x; n < N; n += blockDim.x) {
    const int64_t t = target[n];
    if (t < 0 || t >= C) flag_bad_label(status, DataError::NllLossTarget, t, C);
    else acc += lp[n * C + t];
  }
  acc = block_reduce_sum(acc);
  if (threadIdx.x == 0) loss[0] = static_cast<T>(-acc / static_cast<double>(N));
}

template <class T>
__global__ void nll_loss_bwd_kernel(const int64_t* __restrict__ target, const T* __restrict__ dloss,
                                    T* __restrict__ dlp, int64_t N, int64_t C) {
  const T g = -dloss[0] / static_cast<T>(N);
  MINIDL_GRID_STRIDE_LOOP(idx, N * C) dlp[idx] = (idx % C == target[idx / C]) ? g : T(0);
}

template <class T>
__global__ void cross_entropy_bwd_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                                         const T* __restrict__ lse, const T* __restrict__ dloss, T* __restrict__ dx,
                                         int64_t N, int64_t C, T smoothing) {
  const T g = dloss[0] / static_cast<T>(N);
  const T off = g * smoothing / static_cast<T>(C), on = g * (T(1) - smoothing);
  MINIDL_GRID_STRIDE_LOOP(idx, N * C) {
    const int64_t n = idx / C, c = idx % C;
    dx[idx] = g * dexp(x[idx] - lse[n]) - off - (c == target[n] ? on : T(0));
  }
}

// Calls fn(std::integral_constant<int, W>) with the group width for rows of length C.
template <class Fn>
void with_group_width(int64_t C, const Fn& fn) {
  if (C > 1024) fn(std::integral_constant<int, 0>{});
  else if (C > 16) fn(std::integral_constant<int, 32>{});
  else if (C > 8) fn(std::integral_constant<int, 16>{});
  else if (C > 4) fn(std::integral_constant<int, 8>{});
  else if (C > 2) fn(std::integral_constant<int, 4>{});
  else if (C > 1) fn(std::integral_constant<int, 2>{});
  else fn(std::integral_constant<int, 1>{});
}

}  // namespace

template <class T>
void nll_loss_fwd(const T* log_probs, const int64_t* target, T* loss, int64_t N, int64_t C, int64_t* status) {
  MINIDL_LAUNCH(1, kRowBlock, nll_loss_fwd_kernel)(log_probs, target, loss, N, C, status);
}

template <class T>
void nll_loss_bwd(const int64_t* target, const T* dloss, T* dlog_probs, int64_t N, int64_t C) {
  if (N * C == 0) return;
  MINIDL_LAUNCH(grid_for(N * C), kBlock, nll_loss_bwd_kernel)(target, dloss, dlog_probs, N, C);
}

template <class T>
void cross_entropy_fwd(const T* logits, const int64_t* target, T* loss, T* lse, int64_t N, int64_t C, T smoothing,
                       int64_t* status) {
  Tensor row_loss = empty({N}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
  // N == 0 (the front-end rejects it): no row kernel (a grid of 0 blocks is a launch error);
  // the sum below then writes 0 / 0 = NaN, as the CPU does.
  if (N > 0) with_group_width(C, [&](auto w) {
    constexpr int W = decltype(w)::value;
    const int64_t rows_per_block = W == 0 ? 1 : kBlock / W;
    const unsigned grid = static_cast<unsigned>((N + rows_per_block - 1) / rows_per_block);
    MINIDL_LAUNCH(grid, W == 0 ? kRowBlock : kBlock, cross_entropy_fwd_kernel<T, W>)(
        logits, target, row_loss.data<T>(), lse, N, C, smoothing, status);
  });
  MINIDL_LAUNCH(1, kRowBlock, sum_scaled_kernel)(row_loss.data<T>(), loss, N, 1.0 / static_cast<double>(N));
}

template <class T>
void cross_entropy_bwd(const T* logits, const int64_t* target, const T* lse, const T* dloss, T* dlogits, int64_t N,
                       int64_t C, T smoothing) {
  if (N * C == 0) return;
  MINIDL_LAUNCH(grid_for(N * C), kBlock, cross_entropy_bwd_kernel)(logits, target, lse, dloss, dlogits, N, C,
                                                                   smoothing);
}

#define MINIDL_KERNELS(K) MINIDL_LOSS_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

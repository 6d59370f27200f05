// CUDA normalization kernels: batch_norm, group_norm, layer_norm (same math as kernels/ref/norm.cpp,
// where the backward is derived).
//
// Forward, for every set of m values that share statistics (a channel for batch_norm, an (n, g)
// group for group_norm, a row for layer_norm):
//   mean = (1/m) sum x,  var = (1/m) sum (x - mean)^2,  invstd = 1 / sqrt(var + eps)
//   y = gamma * (x - mean) * invstd + beta
// Backward, with dxhat = gamma * dy and the two per-set means
//   m1 = mean(dxhat),  m2 = mean(dxhat * xhat):
//   dx = invstd * (dxhat - m1 - xhat * m2),  dgamma = sum dy * xhat,  dbeta = sum dy
// (batch_norm eval: m1 = m2 = 0). Saved for backward (by kernels/norm.cpp): x, gamma, mean, invstd.
//
// Two building blocks serve all three normalizations.
//   1. A set reduction. A set is viewed as a 2-D array [runs, run_len] of contiguous runs:
//        batch_norm channel c: runs = N samples of S values, run j at j*C*S + c*S
//        group_norm (n, g) and layer_norm row: one contiguous run
//      Each set is split into rectangles of (runs x positions), one block each, so a few large
//      sets still fill the GPU (16 channels x 131,072 values -> 64 blocks per channel). A block's
//      threads are laid out as [ty][tx]: tx walks positions inside a run (coalesced loads), ty
//      walks runs. Each thread folds its values into a Welford state (count, mean, M2) - stable in
//      float, unlike sum(x^2) - sum(x)^2 - and the block merges the states with Chan's formula
//      (warp shuffles, then one state per warp through shared memory). A second, tiny kernel
//      merges the per-block states of each set, writes mean / invstd and, for batch_norm, updates
//      the running statistics on the GPU. The backward reduces (sum dxhat, sum dxhat * (x - mean))
//      the same way.
//   2. A plane-wise elementwise pass. x is viewed as planes [N*C, L] (L = S; layer_norm: [M, D]);
//      the block is again [ty][tx]: tx walks a plane's L values, ty picks the plane, so the
//      per-plane indices (n, c, statistics row) are computed once per plane, not per element.
//      The statistics row of plane (n, c) is n * stat_per_sample + c / stat_channels:
//        batch_norm: c  (0, 1)     group_norm: n * G + c / (C/G)  (G, C/G)     layer_norm: n  (1, 1)
// Precision: each thread folds its (short) share of a set into a Welford state in T; the merges
// across threads and blocks run in double (exact counts beyond float's 2^24, no loss when a
// channel has millions of values), and so do all the gradient sums (sum dxhat, sum dxhat (x -
// mean), dgamma, dbeta), as on the CPU. Only the results are written in T.
#include <algorithm>

#include "core/cuda_utils.cuh"
#include "core/tensor.h"
#include "kernels/norm.h"

namespace minidl::cuda {
namespace {

constexpr int kThreads = 256;            // threads per block for every kernel here
constexpr int64_t kMinPerBlock = 2048;   // a set is split only while each block keeps this many values
constexpr int64_t kTargetBlocks = 1024;  // enough blocks to fill a large GPU (H100: 132 SMs) several times
constexpr int64_t kMaxSplits = 128;      // blocks per set, at most
constexpr int64_t kMaxGrid = 65535 * 8;  // grid-stride loops cover the rest

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int pow2_at_least(int64_t n, int cap) {  // smallest power of two >= n, capped
  int p = 1;
  while (p < n && p < cap) p *= 2;
  return p;
}

template <class T>
Tensor scratch(int64_t n) {
  return empty({n}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
}

// ---- 1. set reductions ------------------------------------------------------------------------

// Set r is [runs, run_len]: run j starts at r * set_stride + j * run_stride.
struct SetView {
  int64_t runs, run_len, run_stride, set_stride;
};

// How the sets are cut into blocks: each set into split_runs x split_len rectangles of
// runs_per_block x len_per_block values; each block has `threads` threads laid out [ty][tx].
struct ReducePlan {
  int64_t split_runs, split_len, runs_per_block, len_per_block;
  int tx, threads;
  __host__ __device__ int64_t blocks_per_set() const { return split_runs * split_len; }
};

ReducePlan plan_reduction(int64_t sets, const SetView& v) {
  ReducePlan p{};
  const int64_t size = v.runs * v.run_len;
  const int64_t splits = std::clamp(std::min(ceil_div(size, kMinPerBlock), ceil_div(kTargetBlocks, sets)),
                                    int64_t{1}, kMaxSplits);
  // Split along runs first (each block keeps whole, coalesced runs), then along positions.
  p.runs_per_block = ceil_div(v.runs, std::min(splits, v.runs));
  p.split_runs = ceil_div(v.runs, p.runs_per_block);
  const int64_t want_len = std::min(ceil_div(splits, p.split_runs), ceil_div(v.run_len, kThreads));
  p.len_per_block = ceil_div(v.run_len, std::max<int64_t>(want_len, 1));
  p.split_len = ceil_div(v.run_len, p.len_per_block);
  p.tx = pow2_at_least(p.len_per_block, kThreads);
  const int ty = pow2_at_least(p.runs_per_block, kThreads / p.tx);
  p.threads = std::max(32, p.tx * ty);  // block reductions need whole warps
  return p;
}

// The rectangle [j0, j1) x [i0, i1) of set `set` that this block reduces.
struct Rect {
  int64_t set, j0, j1, i0, i1;
};
__device__ Rect block_rect(const SetView& v, const ReducePlan& p) {
  const int64_t b = blockIdx.x % p.blocks_per_set();
  Rect r;
  r.set = blockIdx.x / p.blocks_per_set();
  r.j0 = (b / p.split_len) * p.runs_per_block;
  r.j1 = min(v.runs, r.j0 + p.runs_per_block);
  r.i0 = (b % p.split_len) * p.len_per_block;
  r.i1 = min(v.run_len, r.i0 + p.len_per_block);
  return r;
}

// Welford's running statistics of a stream of values: count, mean, M2 = sum (x - mean)^2.
template <class T>
struct Welford {
  T count, mean, m2;
};

template <class T>
__device__ void welford_add(Welford<T>& w, T v) {
  w.count += T(1);
  const T delta = v - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (v - w.mean);
}

// Chan et al.: the statistics of the union of two disjoint streams.
template <class T>
__device__ Welford<T> welford_merge(const Welford<T>& a, const Welford<T>& b) {
  if (b.count == T(0)) return a;
  if (a.count == T(0)) return b;
  const T count = a.count + b.count, delta = b.mean - a.mean, wb = b.count / count;
  return {count, a.mean + delta * wb, a.m2 + b.m2 + delta * delta * a.count * wb};
}

template <class T>
__device__ Welford<T> welford_shfl_down(const Welford<T>& w, int offset) {
  return {__shfl_down_sync(0xffffffffu, w.count, offset), __shfl_down_sync(0xffffffffu, w.mean, offset),
          __shfl_down_sync(0xffffffffu, w.m2, offset)};
}

// Merge of every thread's state (block_reduce_sum's pattern); every thread gets the result.
template <class T>
__device__ Welford<T> block_reduce_welford(Welford<T> w) {
  __shared__ Welford<T> warp_states[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int off = 16; off > 0; off /= 2) w = welford_merge(w, welford_shfl_down(w, off));
  __syncthreads();  // warp_states may still be read by a previous call
  if (lane == 0) warp_states[warp] = w;
  __syncthreads();
  if (warp == 0) {
    w = lane < static_cast<int>(blockDim.x / 32) ? warp_states[lane] : Welford<T>{T(0), T(0), T(0)};
    for (int off = 16; off > 0; off /= 2) w = welford_merge(w, welford_shfl_down(w, off));
    if (lane == 0) warp_states[0] = w;
  }
  __syncthreads();
  return warp_states[0];
}

// partial[block] = Welford state of the block's rectangle of its set (merged in double).
template <class T>
__global__ void welford_partial_kernel(const T* __restrict__ x, SetView v, ReducePlan p, Welford<double>* partial) {
  const Rect r = block_rect(v, p);
  const int tx = threadIdx.x % p.tx, ty = threadIdx.x / p.tx, ty_dim = blockDim.x / p.tx;
  const T* set = x + r.set * v.set_stride;
  Welford<T> w{T(0), T(0), T(0)};
  for (int64_t j = r.j0 + ty; j < r.j1; j += ty_dim)
    for (int64_t i = r.i0 + tx; i < r.i1; i += p.tx) welford_add(w, set[j * v.run_stride + i]);
  const Welford<double> merged = block_reduce_welford(Welford<double>{w.count, w.mean, w.m2});
  if (threadIdx.x == 0) partial[blockIdx.x] = merged;
}

// Merges each set's partial states into mean / invstd (m values per set); with running_mean
// (batch_norm training) also updates the running statistics (unbiased variance).
template <class T>
__global__ void stats_finalize_kernel(const Welford<double>* partial, int64_t blocks_per_set, int64_t sets, int64_t m,
                                      double eps, T* mean, T* invstd, T* running_mean, T* running_var,
                                      double momentum) {
  MINIDL_GRID_STRIDE_LOOP(r, sets) {
    Welford<double> w = partial[r * blocks_per_set];
    for (int64_t b = 1; b < blocks_per_set; ++b) w = welford_merge(w, partial[r * blocks_per_set + b]);
    const double var = w.m2 / static_cast<double>(m);
    mean[r] = static_cast<T>(w.mean);
    invstd[r] = static_cast<T>(1.0 / sqrt(var + eps));
    if (running_mean) {
      const double unbiased_var = w.m2 / static_cast<double>(m - 1);
      running_mean[r] = static_cast<T>((1.0 - momentum) * running_mean[r] + momentum * w.mean);
      running_var[r] = static_cast<T>((1.0 - momentum) * running_var[r] + momentum * unbiased_var);
    }
  }
}

// mean, invstd of every set of x: the two reduction kernels.
template <class T>
void compute_stats(const T* x, int64_t sets, const SetView& v, double eps, T* mean, T* invstd, T* running_mean,
                   T* running_var, double momentum) {
  const ReducePlan p = plan_reduction(sets, v);
  const int64_t blocks = sets * p.blocks_per_set();
  Tensor partial = scratch<double>(3 * blocks);  // one Welford state (3 doubles) per block
  auto* states = reinterpret_cast<Welford<double>*>(partial.data<double>());
  MINIDL_LAUNCH(static_cast<unsigned>(blocks), p.threads, welford_partial_kernel)(x, v, p, states);
  MINIDL_LAUNCH(grid_for(sets), kBlock, stats_finalize_kernel)(states, p.blocks_per_set(), sets, v.runs * v.run_len,
                                                               eps, mean, invstd, running_mean, running_var, momentum);
}

// partial[block] = (sum dxhat, sum dxhat * (x - mean)) over the block's rectangle, where
// dxhat = weight[i] * dy (weight: layer_norm's gamma along the run, or null for 1) and mean is
// mean[set / mean_div] (group_norm's (n, c) planes share their group's mean: mean_div = C/G).
template <class T>
__global__ void grad_sums_partial_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* weight,
                                         const T* mean, int64_t mean_div, SetView v, ReducePlan p, double* partial) {
  const Rect r = block_rect(v, p);
  const int tx = threadIdx.x % p.tx, ty = threadIdx.x / p.tx, ty_dim = blockDim.x / p.tx;
  const int64_t base = r.set * v.set_stride;
  const T mu = mean[r.set / mean_div];
  double sum_dxhat = 0, sum_dxhat_xmu = 0;
  for (int64_t j = r.j0 + ty; j < r.j1; j += ty_dim)
    for (int64_t i = r.i0 + tx; i < r.i1; i += p.tx) {
      const int64_t k = base + j * v.run_stride + i;
      const T dxhat = weight ? weight[i] * dy[k] : dy[k];
      sum_dxhat += dxhat;
      sum_dxhat_xmu += dxhat * (x[k] - mu);
    }
  sum_dxhat = block_reduce_sum(sum_dxhat);
  sum_dxhat_xmu = block_reduce_sum(sum_dxhat_xmu);
  if (threadIdx.x == 0) {
    partial[2 * blockIdx.x] = sum_dxhat;
    partial[2 * blockIdx.x + 1] = sum_dxhat_xmu;
  }
}

// The two sums of set r, over its blocks.
__device__ inline void set_sums(const double* partial, int64_t blocks_per_set, int64_t r, double& sum_dxhat,
                                double& sum_dxhat_xmu) {
  sum_dxhat = 0, sum_dxhat_xmu = 0;
  for (int64_t b = r * blocks_per_set; b < (r + 1) * blocks_per_set; ++b) {
    sum_dxhat += partial[2 * b];
    sum_dxhat_xmu += partial[2 * b + 1];
  }
}

// Launches grad_sums_partial_kernel; returns the partial sums (2 doubles per block) and blocks per set.
template <class T>
Tensor grad_sums(const T* dy, const T* x, const T* weight, const T* mean, int64_t mean_div, int64_t sets,
                 const SetView& v, int64_t& blocks_per_set) {
  const ReducePlan p = plan_reduction(sets, v);
  blocks_per_set = p.blocks_per_set();
  const int64_t blocks = sets * blocks_per_set;
  Tensor partial = scratch<double>(2 * blocks);
  MINIDL_LAUNCH(static_cast<unsigned>(blocks), p.threads, grad_sums_partial_kernel)(dy, x, weight, mean, mean_div, v, p,
                                                                                    partial.data<double>());
  return partial;
}

// ---- 2. plane-wise elementwise passes -----------------------------------------------------------

// x as planes [N * C, L]. Plane (n, c) uses statistics row n * stat_per_sample + c / stat_channels
// and affine index c, or, with affine_per_element (layer_norm), affine index = position in the plane.
struct PlaneView {
  int64_t N, C, L, stat_per_sample, stat_channels;
  bool affine_per_element;
};

struct PlaneLaunch {
  unsigned blocks;
  int tx;
};
PlaneLaunch plan_planes(const PlaneView& v) {
  const int tx = pow2_at_least(v.L, kThreads);
  const int64_t planes_per_block = kThreads / tx;
  return {static_cast<unsigned>(std::clamp(ceil_div(v.N * v.C, planes_per_block), int64_t{1}, kMaxGrid)), tx};
}

// y = gamma * (x - mean) * invstd + beta
template <class T>
__global__ void normalize_kernel(const T* __restrict__ x, const T* gamma, const T* beta, const T* mean,
                                 const T* invstd, T* __restrict__ y, PlaneView v, int tx_dim) {
  const int tx = threadIdx.x % tx_dim, ty = threadIdx.x / tx_dim, ty_dim = blockDim.x / tx_dim;
  for (int64_t plane = static_cast<int64_t>(blockIdx.x) * ty_dim + ty; plane < v.N * v.C;
       plane += static_cast<int64_t>(gridDim.x) * ty_dim) {
    const int64_t n = plane / v.C, c = plane % v.C, s = n * v.stat_per_sample + c / v.stat_channels;
    const T mu = mean[s], istd = invstd[s];
    const T* xp = x + plane * v.L;
    T* yp = y + plane * v.L;
    for (int64_t i = tx; i < v.L; i += tx_dim) {
      const int64_t a = v.affine_per_element ? i : c;
      const T xhat = (xp[i] - mu) * istd;
      yp[i] = (gamma ? gamma[a] : T(1)) * xhat + (beta ? beta[a] : T(0));
    }
  }
}

// dx = invstd * (dxhat - m1 - xhat * m2), dxhat = gamma * dy; coef[2 s] = m1, coef[2 s + 1] = m2
// of statistics row s (coef null: both 0, batch_norm eval).
template <class T>
__global__ void input_grad_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* gamma, const T* mean,
                                  const T* invstd, const T* coef, T* __restrict__ dx, PlaneView v, int tx_dim) {
  const int tx = threadIdx.x % tx_dim, ty = threadIdx.x / tx_dim, ty_dim = blockDim.x / tx_dim;
  for (int64_t plane = static_cast<int64_t>(blockIdx.x) * ty_dim + ty; plane < v.N * v.C;
       plane += static_cast<int64_t>(gridDim.x) * ty_dim) {
    const int64_t n = plane / v.C, c = plane % v.C, s = n * v.stat_per_sample + c / v.stat_channels;
    const T mu = mean[s], istd = invstd[s];
    const T m1 = coef ? coef[2 * s] : T(0), m2 = coef ? coef[2 * s + 1] : T(0);
    const int64_t off = plane * v.L;
    for (int64_t i = tx; i < v.L; i += tx_dim) {
      const int64_t a = v.affine_per_element ? i : c;
      const T xhat = (x[off + i] - mu) * istd;
      const T dxhat = (gamma ? gamma[a] : T(1)) * dy[off + i];
      dx[off + i] = istd * (dxhat - m1 - xhat * m2);
    }
  }
}

template <class T>
void normalize(const T* x, const T* gamma, const T* beta, const T* mean, const T* invstd, T* y, const PlaneView& v) {
  const PlaneLaunch l = plan_planes(v);
  MINIDL_LAUNCH(l.blocks, kThreads, normalize_kernel)(x, gamma, beta, mean, invstd, y, v, l.tx);
}

template <class T>
void input_grad(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, const T* coef, T* dx,
                const PlaneView& v) {
  const PlaneLaunch l = plan_planes(v);
  MINIDL_LAUNCH(l.blocks, kThreads, input_grad_kernel)(dy, x, gamma, mean, invstd, coef, dx, v, l.tx);
}

// ---- per-op finishing kernels ------------------------------------------------------------------

// Eval: the statistics batch_norm normalizes with (and saves).
template <class T>
__global__ void bn_eval_stats_kernel(const T* running_mean, const T* running_var, int64_t C, double eps, T* mean,
                                     T* invstd) {
  MINIDL_GRID_STRIDE_LOOP(c, C) {
    mean[c] = running_mean[c];
    invstd[c] = T(1) / sqrt(running_var[c] + T(eps));
  }
}

// Per channel: dbeta = sum dy, dgamma = invstd * sum dy (x - mean); in training also the dx
// coefficients m1 = gamma * dbeta / m, m2 = gamma * dgamma / m (coef null in eval mode).
template <class T>
__global__ void bn_grad_finalize_kernel(const double* partial, int64_t blocks_per_set, int64_t C, int64_t m,
                                        const T* gamma, const T* invstd, T* dgamma, T* dbeta, T* coef) {
  MINIDL_GRID_STRIDE_LOOP(c, C) {
    double sum_dy, sum_dy_xmu;
    set_sums(partial, blocks_per_set, c, sum_dy, sum_dy_xmu);
    const double sum_dy_xhat = sum_dy_xmu * invstd[c];
    if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
    if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xhat);
    if (coef) {
      const double g = gamma ? static_cast<double>(gamma[c]) : 1.0;
      coef[2 * c] = static_cast<T>(g * sum_dy / static_cast<double>(m));
      coef[2 * c + 1] = static_cast<T>(g * sum_dy_xhat / static_cast<double>(m));
    }
  }
}

// group_norm, per (n, g): m1 = (1/m) sum_c gamma[c] sum_dy[n, c],
// m2 = (invstd/m) sum_c gamma[c] sum_dy_xmu[n, c] over the group's channels (plane sums).
template <class T>
__global__ void gn_coef_kernel(const double* partial, int64_t blocks_per_set, int64_t N, int64_t C, int64_t G,
                               int64_t m, const T* gamma, const T* invstd, T* coef) {
  const int64_t D = C / G;
  MINIDL_GRID_STRIDE_LOOP(r, N * G) {
    const int64_t n = r / G, g = r % G;
    double row_dxhat = 0, row_dxhat_xmu = 0;
    for (int64_t c = g * D; c < (g + 1) * D; ++c) {
      double sum_dy, sum_dy_xmu;
      set_sums(partial, blocks_per_set, n * C + c, sum_dy, sum_dy_xmu);
      const double gc = gamma ? static_cast<double>(gamma[c]) : 1.0;
      row_dxhat += gc * sum_dy;
      row_dxhat_xmu += gc * sum_dy_xmu;
    }
    coef[2 * r] = static_cast<T>(row_dxhat / static_cast<double>(m));
    coef[2 * r + 1] = static_cast<T>(row_dxhat_xmu * invstd[r] / static_cast<double>(m));
  }
}

// group_norm, per channel: dgamma[c] = sum_n invstd[n, g] sum_dy_xmu[n, c], dbeta[c] = sum_n sum_dy[n, c].
template <class T>
__global__ void gn_param_grad_kernel(const double* partial, int64_t blocks_per_set, int64_t N, int64_t C, int64_t G,
                                     const T* invstd, T* dgamma, T* dbeta) {
  const int64_t D = C / G;
  MINIDL_GRID_STRIDE_LOOP(c, C) {
    double dg = 0, db = 0;
    for (int64_t n = 0; n < N; ++n) {
      double sum_dy, sum_dy_xmu;
      set_sums(partial, blocks_per_set, n * C + c, sum_dy, sum_dy_xmu);
      dg += sum_dy_xmu * invstd[n * G + c / D];
      db += sum_dy;
    }
    if (dgamma) dgamma[c] = static_cast<T>(dg);
    if (dbeta) dbeta[c] = static_cast<T>(db);
  }
}

// layer_norm, per row: m1 = sum dxhat / D, m2 = invstd * sum dxhat (x - mean) / D.
template <class T>
__global__ void ln_coef_kernel(const double* partial, int64_t blocks_per_set, int64_t M, int64_t D, const T* invstd,
                               T* coef) {
  MINIDL_GRID_STRIDE_LOOP(r, M) {
    double sum_dxhat, sum_dxhat_xmu;
    set_sums(partial, blocks_per_set, r, sum_dxhat, sum_dxhat_xmu);
    coef[2 * r] = static_cast<T>(sum_dxhat / static_cast<double>(D));
    coef[2 * r + 1] = static_cast<T>(sum_dxhat_xmu * invstd[r] / static_cast<double>(D));
  }
}

// layer_norm dgamma / dbeta are column sums over the M rows: thread d of a block sums column d
// over one chunk of rows (neighbouring threads read neighbouring columns), blockIdx.y picks the
// chunk; partial[chunk][d] = (sum dy * xhat, sum dy), in double.
template <class T>
__global__ void ln_param_partial_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* mean,
                                        const T* invstd, int64_t M, int64_t D, int64_t rows_per_chunk,
                                        double* partial) {
  const int64_t d = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (d >= D) return;
  const int64_t r0 = blockIdx.y * rows_per_chunk, r1 = min(M, r0 + rows_per_chunk);
  double dg = 0, db = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const T g = dy[r * D + d];
    dg += g * ((x[r * D + d] - mean[r]) * invstd[r]);
    db += g;
  }
  partial[(blockIdx.y * D + d) * 2] = dg;
  partial[(blockIdx.y * D + d) * 2 + 1] = db;
}

template <class T>
__global__ void ln_param_finalize_kernel(const double* partial, int64_t chunks, int64_t D, T* dgamma, T* dbeta) {
  MINIDL_GRID_STRIDE_LOOP(d, D) {
    double dg = 0, db = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      dg += partial[(k * D + d) * 2];
      db += partial[(k * D + d) * 2 + 1];
    }
    if (dgamma) dgamma[d] = static_cast<T>(dg);
    if (dbeta) dbeta[d] = static_cast<T>(db);
  }
}

}  // namespace

// ---- batch_norm ---------------------------------------------------------------------------------

template <class T>
void batch_norm_fwd_train(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, T* running_mean,
                          T* running_var, int64_t N, int64_t C, int64_t S, double momentum, double eps) {
  if (N * C * S == 0) return;
  // Channel c: N runs of S values, run n at n * C * S + c * S.
  compute_stats(x, C, SetView{N, S, C * S, S}, eps, mean, invstd, running_mean, running_var, momentum);
  normalize(x, gamma, beta, mean, invstd, y, PlaneView{N, C, S, 0, 1, false});
}

template <class T>
void batch_norm_fwd_eval(const T* x, const T* gamma, const T* beta, const T* running_mean, const T* running_var, T* y,
                         T* mean, T* invstd, int64_t N, int64_t C, int64_t S, double eps) {
  if (C == 0) return;
  MINIDL_LAUNCH(grid_for(C), kBlock, bn_eval_stats_kernel)(running_mean, running_var, C, eps, mean, invstd);
  if (N * S == 0) return;
  normalize(x, gamma, beta, mean, invstd, y, PlaneView{N, C, S, 0, 1, false});
}

template <class T>
void batch_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, bool training) {
  if (N * C * S == 0) return;
  const PlaneView planes{N, C, S, 0, 1, false};
  // The sums are needed for dgamma / dbeta, and for dx in training mode only.
  Tensor coef;
  if (training || dgamma || dbeta) {
    int64_t blocks_per_set = 0;
    Tensor partial = grad_sums<T>(dy, x, nullptr, mean, 1, C, SetView{N, S, C * S, S}, blocks_per_set);
    if (training && dx) coef = scratch<T>(2 * C);
    MINIDL_LAUNCH(grid_for(C), kBlock, bn_grad_finalize_kernel)(partial.data<double>(), blocks_per_set, C, N * S, gamma,
                                                                invstd, dgamma, dbeta,
                                                                coef.defined() ? coef.data<T>() : nullptr);
  }
  if (dx) input_grad(dy, x, gamma, mean, invstd, coef.defined() ? coef.data<T>() : nullptr, dx, planes);
}

// ---- group_norm ---------------------------------------------------------------------------------

template <class T>
void group_norm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t N, int64_t C,
                    int64_t S, int64_t G, double eps) {
  if (N * C * S == 0) return;
  const int64_t D = C / G, m = D * S;
  // Set (n, g): m contiguous values.
  compute_stats<T>(x, N * G, SetView{1, m, m, m}, eps, mean, invstd, nullptr, nullptr, 0.0);
  normalize(x, gamma, beta, mean, invstd, y, PlaneView{N, C, S, G, D, false});
}

template <class T>
void group_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, int64_t G) {
  if (N * C * S == 0) return;
  const int64_t D = C / G;
  // Sums per (n, c) plane (S contiguous values; plane n * C + c uses mean[(n * C + c) / D]).
  int64_t blocks_per_set = 0;
  Tensor partial = grad_sums<T>(dy, x, nullptr, mean, D, N * C, SetView{1, S, S, S}, blocks_per_set);
  if (dx) {
    Tensor coef = scratch<T>(2 * N * G);
    MINIDL_LAUNCH(grid_for(N * G), kBlock, gn_coef_kernel)(partial.data<double>(), blocks_per_set, N, C, G, D * S,
                                                           gamma, invstd, coef.data<T>());
    input_grad(dy, x, gamma, mean, invstd, coef.data<T>(), dx, PlaneView{N, C, S, G, D, false});
  }
  if (dgamma || dbeta) {
    MINIDL_LAUNCH(grid_for(C), kBlock, gn_param_grad_kernel)(partial.data<double>(), blocks_per_set, N, C, G, invstd,
                                                             dgamma, dbeta);
  }
}

// ---- layer_norm ---------------------------------------------------------------------------------

template <class T>
void layer_norm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t M, int64_t D,
                    double eps) {
  if (M * D == 0) return;
  compute_stats<T>(x, M, SetView{1, D, D, D}, eps, mean, invstd, nullptr, nullptr, 0.0);
  normalize(x, gamma, beta, mean, invstd, y, PlaneView{M, 1, D, 1, 1, true});
}

template <class T>
void layer_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t M, int64_t D) {
  if (M * D == 0) return;
  if (dx) {
    int64_t blocks_per_set = 0;
    Tensor partial = grad_sums<T>(dy, x, gamma, mean, 1, M, SetView{1, D, D, D}, blocks_per_set);
    Tensor coef = scratch<T>(2 * M);
    MINIDL_LAUNCH(grid_for(M), kBlock, ln_coef_kernel)(partial.data<double>(), blocks_per_set, M, D, invstd,
                                                       coef.data<T>());
    input_grad(dy, x, gamma, mean, invstd, coef.data<T>(), dx, PlaneView{M, 1, D, 1, 1, true});
  }
  if (dgamma || dbeta) {
    // Enough row chunks to fill the GPU, each at least 32 rows long.
    const int64_t col_blocks = ceil_div(D, kThreads);
    const int64_t chunks = std::clamp(std::min(ceil_div(M, 32), ceil_div(kTargetBlocks, col_blocks)), int64_t{1},
                                      int64_t{65535});
    const int64_t rows_per_chunk = ceil_div(M, chunks);
    Tensor partial = scratch<double>(2 * chunks * D);
    const dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>(chunks));
    MINIDL_LAUNCH(grid, kThreads, ln_param_partial_kernel)(dy, x, mean, invstd, M, D, rows_per_chunk,
                                                           partial.data<double>());
    MINIDL_LAUNCH(grid_for(D), kBlock, ln_param_finalize_kernel)(partial.data<double>(), chunks, D, dgamma, dbeta);
  }
}

#define MINIDL_KERNELS(K) MINIDL_BATCH_NORM_KERNELS(K) MINIDL_GROUP_LAYER_NORM_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

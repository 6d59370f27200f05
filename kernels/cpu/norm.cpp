// The tuned CPU batch_norm, group_norm and layer_norm engines (the defaults on the CPU; the plain reference, with
// the math and its derivation, is kernels/ref/norm.cpp):
//   forward:  mean, var over (N, S) per channel;  y = (x - mean) * gamma * invstd + beta
//   backward: dbeta = sum dy,  dgamma = sum dy * xhat,
//             dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))   (training mode)
// What differs from the reference (batch norm was ~10% of a skipnet48k training step there):
// - The forward reads x twice, not three times: both moments in one pass, shifted by a sample
//   of the channel (below), then the normalization.
// - Sums accumulate in float within a plane of S values (16 vector lanes, each adding S/16
//   values), and the plane sums in double. The reference converts every value to double first,
//   which halves the vector width. A float plane sum is off by ~S/16 * 2^-24 relative (< 1e-5
//   for a 32x32 map), and nothing grows with N.
// On [128, 8, 32, 32], one thread: forward 0.41 ms against the reference's 0.66, forward +
// backward 1.4 against 2.0 (apps/bench_ops --filter "batch_norm 8x32", MINIDL_BN_ENGINE=ref|cpu).
// float64 on the CPU runs the reference (the front-end, kernels/norm.cpp, routes it): that dtype is
// for checks (gradcheck, parity with PyTorch to ~1e-14), where agreeing with the reference matters
// more than speed. Instantiated for double too, where the same code sums in double.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "core/parallel.h"
#include "kernels/norm.h"

namespace minidl::cpu {
namespace {

// Threads: each loop but layer_norm's backward gives every channel (batch norm) or row (group and
// layer norm) to one thread whole, so where the split falls never changes a result, and the
// measured cost of starting the threads decides (core/parallel.h): streaming_pays(n, streams) for a
// pass that reads and writes `streams` arrays of n values. layer_norm's backward sums per-thread
// partial rows, whose number must not depend on a timing: a fixed size decides there
// (fixed_split_pays).

// sum_i (p[i] - k) and sum_i (p[i] - k)^2 over one plane, accumulated in T, added to s1 / s2.
template <class T>
void plane_shifted_moments(const T* p, int64_t n, T k, double& s1, double& s2) {
  T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; ++i) {
    const T d = p[i] - k;
    a += d;
    b += d * d;
  }
  s1 += a;
  s2 += b;
}

// sum_i dy[i] and sum_i dy[i] * (x[i] - mean) over one plane, accumulated in T.
template <class T>
void plane_sum_dy_dyxmu(const T* dy, const T* x, int64_t n, T mean, double& sum_dy, double& sum_dy_xmu) {
  T a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; ++i) {
    a += dy[i];
    b += dy[i] * (x[i] - mean);
  }
  sum_dy += a;
  sum_dy_xmu += b;
}

}  // namespace

template <class T>
void batch_norm_fwd_train(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, T* running_mean,
                          T* running_var, int64_t N, int64_t C, int64_t S, double momentum, double eps) {
  const int64_t m = N * S;  // values per channel
#pragma omp parallel for if (streaming_pays<T>(N * C * S, 3))
  for (int64_t c = 0; c < C; ++c) {
    // Channel c is N planes of S contiguous values: x[n, c, :] starts at (n * C + c) * S.
    // One pass for both moments, shifted by the channel's first value k (a sample of the same
    // distribution, so |mean - k| is a few standard deviations at most and var = E[(x-k)^2] -
    // E[x-k]^2 loses no more than a few float roundings to cancellation).
    const T k = x[c * S];
    double s1 = 0.0, s2 = 0.0;
    for (int64_t n = 0; n < N; ++n) plane_shifted_moments(x + (n * C + c) * S, S, k, s1, s2);
    const double d = s1 / static_cast<double>(m);
    const double mu = static_cast<double>(k) + d;
    const double sq = std::max(0.0, s2 - d * s1);  // sum (x - mu)^2 = sum (x - k)^2 - m d^2
    const double var = sq / static_cast<double>(m);
    const double istd = 1.0 / std::sqrt(var + eps);
    mean[c] = static_cast<T>(mu);
    invstd[c] = static_cast<T>(istd);
    if (running_mean) {
      const double unbiased_var = var * static_cast<double>(m) / static_cast<double>(m - 1);
      running_mean[c] = static_cast<T>((1.0 - momentum) * running_mean[c] + momentum * mu);
      running_var[c] = static_cast<T>((1.0 - momentum) * running_var[c] + momentum * unbiased_var);
    }
    const T scale = static_cast<T>(gamma ? gamma[c] * istd : istd), shift = beta ? beta[c] : T(0);
    const T mu_t = static_cast<T>(mu);
    for (int64_t n = 0; n < N; ++n) {
      const T* xp = x + (n * C + c) * S;
      T* yp = y + (n * C + c) * S;
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) yp[i] = (xp[i] - mu_t) * scale + shift;
    }
  }
}

// Eval mode is one elementwise pass with known statistics.
template <class T>
void batch_norm_fwd_eval(const T* x, const T* gamma, const T* beta, const T* running_mean, const T* running_var,
                         T* y, T* mean, T* invstd, int64_t N, int64_t C, int64_t S, double eps) {
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = running_mean[c];
    invstd[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
  }
#pragma omp parallel for collapse(2) if (streaming_pays<T>(N * C * S, 2))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const T* xp = x + (n * C + c) * S;
      T* yp = y + (n * C + c) * S;
      const T mu = mean[c], scale = gamma ? gamma[c] * invstd[c] : invstd[c], shift = beta ? beta[c] : T(0);
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) yp[i] = (xp[i] - mu) * scale + shift;
    }
}

template <class T>
void batch_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, bool training) {
  const int64_t m = N * S;
#pragma omp parallel for if (streaming_pays<T>(N * C * S, 5))
  for (int64_t c = 0; c < C; ++c) {
    const T mu_t = mean[c], istd_t = invstd[c];
    const double istd = invstd[c];
    double sum_dy = 0.0, sum_dy_xmu = 0.0;
    if (training || dgamma || dbeta)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t off = (n * C + c) * S;
        plane_sum_dy_dyxmu(dy + off, x + off, S, mu_t, sum_dy, sum_dy_xmu);
      }
    const double sum_dy_xhat = sum_dy_xmu * istd;
    if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
    if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xhat);
    if (!dx) continue;
    const T k = static_cast<T>((gamma ? gamma[c] : 1.0) * istd);  // gamma * invstd
    // Both means are 0 in eval mode (the statistics are constants there).
    const T mean_dy = training ? static_cast<T>(sum_dy / static_cast<double>(m)) : T(0);
    const T mean_dy_xhat = training ? static_cast<T>(sum_dy_xhat / static_cast<double>(m)) : T(0);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = (n * C + c) * S;
      const T* dyp = dy + off;
      const T* xp = x + off;
      T* dxp = dx + off;
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) dxp[i] = k * (dyp[i] - mean_dy - (xp[i] - mu_t) * istd_t * mean_dy_xhat);
    }
  }
}

// ---- group_norm (also the zoo's "layer" norm: GroupNorm(1, C)) ------------------------------------
// Per (n, g) row of D = C/G planes: the same one-pass moments with float plane sums, shifted by
// the row's first value; the backward's plane sums in float too.

template <class T>
void group_norm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t N, int64_t C,
                    int64_t S, int64_t G, double eps) {
  const int64_t D = C / G;  // channels per group
  const int64_t m = D * S;  // values per (n, g): contiguous, since the group's channels are adjacent
#pragma omp parallel for if (streaming_pays<T>(N * C * S, 3))
  for (int64_t r = 0; r < N * G; ++r) {  // r = n * G + g
    const T* xr = x + r * m;
    const T k = xr[0];
    double s1 = 0.0, s2 = 0.0;
    for (int64_t j = 0; j < D; ++j) plane_shifted_moments(xr + j * S, S, k, s1, s2);
    const double d = s1 / static_cast<double>(m);
    const double mu = static_cast<double>(k) + d;
    const double var = std::max(0.0, s2 - d * s1) / static_cast<double>(m);
    const double istd = 1.0 / std::sqrt(var + eps);
    mean[r] = static_cast<T>(mu);
    invstd[r] = static_cast<T>(istd);
    const int64_t g = r % G;
    const T mu_t = static_cast<T>(mu);
    for (int64_t j = 0; j < D; ++j) {
      const int64_t c = g * D + j;
      const T scale = static_cast<T>(gamma ? gamma[c] * istd : istd), shift = beta ? beta[c] : T(0);
      const T* xp = xr + j * S;
      T* yp = y + r * m + j * S;
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) yp[i] = (xp[i] - mu_t) * scale + shift;
    }
  }
}

template <class T>
void group_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, int64_t G) {
  const int64_t D = C / G, m = D * S;
  // Per (n, c) plane: sum_dy[n, c] = sum_s dy,  sum_dy_xhat[n, c] = sum_s dy * xhat.
  std::vector<double> sum_dy(static_cast<size_t>(N * C)), sum_dy_xhat(static_cast<size_t>(N * C));
#pragma omp parallel for if (streaming_pays<T>(N * C * S, 5))
  for (int64_t r = 0; r < N * G; ++r) {  // r = n * G + g
    const int64_t n = r / G, g = r % G;
    const T mu_t = mean[r], istd_t = invstd[r];
    const double istd = invstd[r];
    double row_dxhat = 0.0, row_dxhat_xhat = 0.0;  // row sums of gamma * dy and gamma * dy * xhat
    for (int64_t j = 0; j < D; ++j) {
      const int64_t c = g * D + j, plane = (n * C + c) * S;
      double s_dy = 0.0, s_dy_xmu = 0.0;
      plane_sum_dy_dyxmu(dy + plane, x + plane, S, mu_t, s_dy, s_dy_xmu);
      sum_dy[n * C + c] = s_dy;
      sum_dy_xhat[n * C + c] = s_dy_xmu * istd;
      const double gc = gamma ? gamma[c] : 1.0;
      row_dxhat += gc * s_dy;
      row_dxhat_xhat += gc * s_dy_xmu * istd;
    }
    if (!dx) continue;
    const T mean_dxhat = static_cast<T>(row_dxhat / static_cast<double>(m));
    const T mean_dxhat_xhat = static_cast<T>(row_dxhat_xhat / static_cast<double>(m));
    for (int64_t j = 0; j < D; ++j) {
      const int64_t c = g * D + j, plane = (n * C + c) * S;
      const T gc = gamma ? gamma[c] : T(1);
      const T* dyp = dy + plane;
      const T* xp = x + plane;
      T* dxp = dx + plane;
      // dx = invstd * (gamma[c] * dy - mean(dxhat) - xhat * mean(dxhat * xhat))
#pragma omp simd
      for (int64_t i = 0; i < S; ++i)
        dxp[i] = istd_t * (gc * dyp[i] - mean_dxhat - (xp[i] - mu_t) * istd_t * mean_dxhat_xhat);
    }
  }
  if (!dgamma && !dbeta) return;
  for (int64_t c = 0; c < C; ++c) {
    double dg = 0.0, db = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      dg += sum_dy_xhat[n * C + c];
      db += sum_dy[n * C + c];
    }
    if (dgamma) dgamma[c] = static_cast<T>(dg);
    if (dbeta) dbeta[c] = static_cast<T>(db);
  }
}

// ---- layer_norm -------------------------------------------------------------------------------
// Per row of D values: the forward is the same one-pass shifted moments (float sums per block of
// kBlock values, blocks in double) and one normalizing pass. The backward reads each row twice,
// not three times: the first pass gives the row sums of (*) (kernels/ref/norm.cpp) and adds
// dy * xhat and dy into this thread's own dgamma / dbeta partial rows (the reference walks the
// whole tensor a third time for those column sums); the second writes dx. The partial rows are
// summed in thread order at the end, so the result does not depend on timing.

constexpr int64_t kBlock = 1024;  // float sums over at most this many values, then double

template <class T>
void layer_norm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t M, int64_t D,
                    double eps) {
#pragma omp parallel for if (streaming_pays<T>(M * D, 3))
  for (int64_t r = 0; r < M; ++r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const T k = xr[0];  // the shift: a value of the row (see batch_norm_fwd_train)
    double s1 = 0.0, s2 = 0.0;
    for (int64_t d0 = 0; d0 < D; d0 += kBlock) plane_shifted_moments(xr + d0, std::min(kBlock, D - d0), k, s1, s2);
    const double dk = s1 / static_cast<double>(D);
    const double mu = static_cast<double>(k) + dk;
    const double var = std::max(0.0, s2 - dk * s1) / static_cast<double>(D);
    const double istd = 1.0 / std::sqrt(var + eps);
    mean[r] = static_cast<T>(mu);
    invstd[r] = static_cast<T>(istd);
    const T mu_t = static_cast<T>(mu), istd_t = static_cast<T>(istd);
    if (gamma && beta) {
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) yr[d] = gamma[d] * ((xr[d] - mu_t) * istd_t) + beta[d];
    } else {
#pragma omp simd
      for (int64_t d = 0; d < D; ++d)
        yr[d] = (gamma ? gamma[d] : T(1)) * ((xr[d] - mu_t) * istd_t) + (beta ? beta[d] : T(0));
    }
  }
}

template <class T>
void layer_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t M, int64_t D) {
  const bool parallel = fixed_split_pays(M * D);
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
  const bool affine_grads = dgamma || dbeta;
  // Per thread: a dgamma and a dbeta partial row (D each), zero to start, in double: they add one
  // value per row, and nothing may grow with the row count in float.
  std::vector<double> partial(affine_grads ? static_cast<size_t>(threads * 2 * D) : 0);
#pragma omp parallel num_threads(threads) if (parallel)
  {
    // Equal contiguous ranges of rows, one per thread (the partial rows are indexed by thread).
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    double* dg = affine_grads ? partial.data() + t * 2 * D : nullptr;
    double* db = affine_grads ? dg + D : nullptr;
    for (int64_t r = M * t / nt; r < M * (t + 1) / nt; ++r) {
      const T* dyr = dy + r * D;
      const T* xr = x + r * D;
      const T mu_t = mean[r], istd_t = invstd[r];
      // Row sums of dxhat = gamma dy and of dxhat (x - mean), float per block, double across.
      double s_dxhat = 0.0, s_dxhat_xmu = 0.0;
      for (int64_t d0 = 0; d0 < D; d0 += kBlock) {
        const int64_t d1 = std::min(D, d0 + kBlock);
        T a = 0, b = 0;
        if (affine_grads) {
#pragma omp simd reduction(+ : a, b)
          for (int64_t d = d0; d < d1; ++d) {
            const T xmu = xr[d] - mu_t, dxhat = (gamma ? gamma[d] : T(1)) * dyr[d];
            a += dxhat;
            b += dxhat * xmu;
            dg[d] += static_cast<double>(dyr[d] * xmu) * istd_t;  // invstd * dy (x - mean), as the reference
            db[d] += dyr[d];
          }
        } else {
#pragma omp simd reduction(+ : a, b)
          for (int64_t d = d0; d < d1; ++d) {
            const T dxhat = (gamma ? gamma[d] : T(1)) * dyr[d];
            a += dxhat;
            b += dxhat * (xr[d] - mu_t);
          }
        }
        s_dxhat += a;
        s_dxhat_xmu += b;
      }
      if (!dx) continue;
      const T mean_dxhat = static_cast<T>(s_dxhat / static_cast<double>(D));
      const T mean_dxhat_xhat = static_cast<T>(s_dxhat_xmu * istd_t / static_cast<double>(D));
      T* dxr = dx + r * D;
#pragma omp simd
      for (int64_t d = 0; d < D; ++d) {
        const T dxhat = (gamma ? gamma[d] : T(1)) * dyr[d];
        dxr[d] = istd_t * (dxhat - mean_dxhat - (xr[d] - mu_t) * istd_t * mean_dxhat_xhat);
      }
    }
  }
  if (!affine_grads) return;
  for (int64_t d = 0; d < D; ++d) {
    double g = 0, b = 0;
    for (int64_t t = 0; t < threads; ++t) {
      g += partial[t * 2 * D + d];
      b += partial[t * 2 * D + D + d];
    }
    if (dgamma) dgamma[d] = static_cast<T>(g);
    if (dbeta) dbeta[d] = static_cast<T>(b);
  }
}

#define MINIDL_KERNELS(K) MINIDL_BATCH_NORM_KERNELS(K) MINIDL_GROUP_LAYER_NORM_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

// The normalization reference (runs on the CPU): batch_norm, group_norm, layer_norm, the
// executable specification of kernels/cuda/norm.cu.
//
// Forward. Each normalization picks sets of m values that share one (mean, invstd):
//   batch_norm: one set per channel c, the m = N*S values x[:, c, :]
//   group_norm: one set per (n, g), the m = (C/G)*S values of sample n's channels in group g
//   layer_norm: one set per row, the m = D values of that row
// and, for each set,
//   mean   = (1/m) sum_i x_i
//   var    = (1/m) sum_i (x_i - mean)^2           (biased, like PyTorch)
//   invstd = 1 / sqrt(var + eps)
//   xhat_i = (x_i - mean) * invstd
//   y_i    = gamma_i * xhat_i + beta_i             (gamma_i, beta_i: per channel; per element for LN)
// Statistics use two passes with double accumulators (first the mean, then the squared
// deviations from it): never E[x^2] - E[x]^2, which cancels catastrophically in float when
// |mean| >> std.
// batch_norm training also updates the running statistics in place:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)   (unbiased)
// batch_norm eval normalizes with mean = running_mean, invstd = 1 / sqrt(running_var + eps).
//
// Backward, for one set (dy = dL/dy, and dxhat_i = gamma_i * dy_i). mean and invstd depend on x:
//   d mean   / dx_j = 1/m
//   d var    / dx_j = (2/m) (x_j - mean)            (the d mean term sums to zero)
//   d invstd / dx_j = -1/2 (var + eps)^(-3/2) d var/dx_j = -invstd^3 (x_j - mean) / m
// so  d xhat_i / dx_j = invstd (delta_ij - 1/m - xhat_i xhat_j / m), and summing over i:
//   dx_j   = invstd * (dxhat_j - mean_i(dxhat_i) - xhat_j * mean_i(dxhat_i * xhat_i))      (*)
//   dgamma = sum dy * xhat,   dbeta = sum dy       (over every value that shares that gamma)
// The compact forms the kernels use:
//   batch_norm (gamma constant within a set, so the two means come from dbeta and dgamma):
//     dx = gamma * invstd * (dy - (dbeta + xhat * dgamma) / m)
//   batch_norm eval (mean, invstd are constants):  dx = gamma * invstd * dy
//   group_norm: (*) with gamma per channel inside the set; the sums per (n, c) plane
//     sum_dy[n, c] = sum_s dy   and   sum_dy_xhat[n, c] = invstd * sum_s dy (x - mean)
//     give both the row means of (*) (weighted by gamma[c]) and dgamma / dbeta (summed over n).
//   layer_norm: (*) with gamma per element; dgamma / dbeta are column sums over the rows.
// dy * xhat is accumulated as invstd * dy * (x - mean): the same value, without first rounding
// xhat, and with no cancellation.
//
// Saved for backward (by the XxxBackward nodes in kernels/norm.cpp): x, gamma, mean, invstd.
// Plain loops, in double; OpenMP over the independent sets: channels for batch_norm, (n, g) rows
// for group_norm, rows (and, for dgamma / dbeta, columns) for layer_norm. kernels/cpu/norm.cpp is
// the tuned engine.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/norm.h"

namespace minidl::ref {
namespace {


// sum_i p[i] over n contiguous values, in double.
template <class T>
double sum(const T* p, int64_t n) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) acc += p[i];
  return acc;
}

// sum_i (p[i] - mean)^2 over n contiguous values, in double.
template <class T>
double sum_sq_dev(const T* p, int64_t n, double mean) {
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    acc += d * d;
  }
  return acc;
}

// sum_i dy[i] and sum_i dy[i] * (x[i] - mean) over n contiguous values, in double.
template <class T>
void sum_dy_dyxmu(const T* dy, const T* x, int64_t n, double mean, double& sum_dy, double& sum_dy_xmu) {
  double a = 0.0, b = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    a += dy[i];
    b += static_cast<double>(dy[i]) * (static_cast<double>(x[i]) - mean);
  }
  sum_dy += a;
  sum_dy_xmu += b;
}

// y = (x - mean) * scale + shift over n contiguous values (scale = gamma * invstd, shift = beta).
template <class T>
void normalize(const T* x, T* y, int64_t n, T mean, T scale, T shift) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * scale + shift;
}

}  // namespace

// ---- batch_norm -------------------------------------------------------------------------------

template <class T>
void batch_norm_fwd_train(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, T* running_mean,
                          T* running_var, int64_t N, int64_t C, int64_t S, double momentum, double eps) {
  const int64_t m = N * S;  // values per channel
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    // Channel c is N planes of S contiguous values: x[n, c, :] starts at (n * C + c) * S.
    double total = 0.0;
    for (int64_t n = 0; n < N; ++n) total += sum(x + (n * C + c) * S, S);
    const double mu = total / static_cast<double>(m);
    double sq = 0.0;
    for (int64_t n = 0; n < N; ++n) sq += sum_sq_dev(x + (n * C + c) * S, S, mu);
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
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = (n * C + c) * S;
      normalize(x + off, y + off, S, static_cast<T>(mu), scale, shift);
    }
  }
}

template <class T>
void batch_norm_fwd_eval(const T* x, const T* gamma, const T* beta, const T* running_mean, const T* running_var,
                         T* y, T* mean, T* invstd, int64_t N, int64_t C, int64_t S, double eps) {
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = running_mean[c];
    invstd[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
  }
  // Every (n, c) plane is independent now that the statistics are known.
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t off = (n * C + c) * S;
      const T scale = gamma ? gamma[c] * invstd[c] : invstd[c], shift = beta ? beta[c] : T(0);
      normalize(x + off, y + off, S, mean[c], scale, shift);
    }
}

template <class T>
void batch_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, bool training) {
  const int64_t m = N * S;
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    const double mu = mean[c], istd = invstd[c];
    // dbeta = sum dy, dgamma = sum dy * xhat (also what dx needs in training mode).
    double sum_dy = 0.0, sum_dy_xmu = 0.0;
    if (training || dgamma || dbeta)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t off = (n * C + c) * S;
        sum_dy_dyxmu(dy + off, x + off, S, mu, sum_dy, sum_dy_xmu);
      }
    const double sum_dy_xhat = sum_dy_xmu * istd;
    if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
    if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xhat);
    if (!dx) continue;
    const T k = static_cast<T>((gamma ? gamma[c] : 1.0) * istd);  // gamma * invstd
    // dx = gamma * invstd * (dy - mean_dy - xhat * mean_dy_xhat); both means are 0 in eval mode.
    const T mean_dy = training ? static_cast<T>(sum_dy / static_cast<double>(m)) : T(0);
    const T mean_dy_xhat = training ? static_cast<T>(sum_dy_xhat / static_cast<double>(m)) : T(0);
    const T mu_t = static_cast<T>(mu), istd_t = static_cast<T>(istd);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t off = (n * C + c) * S;
      const T* dyp = dy + off;
      const T* xp = x + off;
      T* dxp = dx + off;
      for (int64_t i = 0; i < S; ++i) {
        const T xhat = (xp[i] - mu_t) * istd_t;
        dxp[i] = k * (dyp[i] - mean_dy - xhat * mean_dy_xhat);
      }
    }
  }
}

// ---- group_norm -------------------------------------------------------------------------------

template <class T>
void group_norm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t N, int64_t C,
                    int64_t S, int64_t G, double eps) {
  const int64_t D = C / G;  // channels per group
  const int64_t m = D * S;  // values per (n, g): contiguous, since the group's channels are adjacent
#pragma omp parallel for
  for (int64_t r = 0; r < N * G; ++r) {  // r = n * G + g
    const T* xr = x + r * m;
    const double mu = sum(xr, m) / static_cast<double>(m);
    const double var = sum_sq_dev(xr, m, mu) / static_cast<double>(m);
    const double istd = 1.0 / std::sqrt(var + eps);
    mean[r] = static_cast<T>(mu);
    invstd[r] = static_cast<T>(istd);
    const int64_t g = r % G;
    for (int64_t k = 0; k < D; ++k) {
      const int64_t c = g * D + k;
      const T scale = static_cast<T>(gamma ? gamma[c] * istd : istd), shift = beta ? beta[c] : T(0);
      normalize(xr + k * S, y + r * m + k * S, S, static_cast<T>(mu), scale, shift);
    }
  }
}

template <class T>
void group_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, int64_t G) {
  const int64_t D = C / G, m = D * S;
  // Per (n, c) plane: sum_dy[n, c] = sum_s dy,  sum_dy_xhat[n, c] = sum_s dy * xhat.
  std::vector<double> sum_dy(static_cast<size_t>(N * C)), sum_dy_xhat(static_cast<size_t>(N * C));
#pragma omp parallel for
  for (int64_t r = 0; r < N * G; ++r) {  // r = n * G + g
    const int64_t n = r / G, g = r % G;
    const double mu = mean[r], istd = invstd[r];
    // Row means of dxhat = gamma[c] * dy and of dxhat * xhat, for (*).
    double row_dxhat = 0.0, row_dxhat_xhat = 0.0;
    for (int64_t k = 0; k < D; ++k) {
      const int64_t c = g * D + k, plane = (n * C + c) * S;
      double s_dy = 0.0, s_dy_xmu = 0.0;
      sum_dy_dyxmu(dy + plane, x + plane, S, mu, s_dy, s_dy_xmu);
      sum_dy[n * C + c] = s_dy;
      sum_dy_xhat[n * C + c] = s_dy_xmu * istd;
      const double gc = gamma ? gamma[c] : 1.0;
      row_dxhat += gc * s_dy;
      row_dxhat_xhat += gc * s_dy_xmu * istd;
    }
    if (!dx) continue;
    const T mean_dxhat = static_cast<T>(row_dxhat / static_cast<double>(m));
    const T mean_dxhat_xhat = static_cast<T>(row_dxhat_xhat / static_cast<double>(m));
    const T mu_t = static_cast<T>(mu), istd_t = static_cast<T>(istd);
    for (int64_t k = 0; k < D; ++k) {
      const int64_t c = g * D + k, plane = (n * C + c) * S;
      const T gc = gamma ? gamma[c] : T(1);
      const T* dyp = dy + plane;
      const T* xp = x + plane;
      T* dxp = dx + plane;
      // dx = invstd * (gamma[c] * dy - mean(dxhat) - xhat * mean(dxhat * xhat))
      for (int64_t i = 0; i < S; ++i) {
        const T xhat = (xp[i] - mu_t) * istd_t;
        dxp[i] = istd_t * (gc * dyp[i] - mean_dxhat - xhat * mean_dxhat_xhat);
      }
    }
  }
  if (!dgamma && !dbeta) return;
  // dgamma[c] = sum_n sum_dy_xhat[n, c],  dbeta[c] = sum_n sum_dy[n, c]
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

template <class T>
void layer_norm_fwd(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t M, int64_t D,
                    double eps) {
#pragma omp parallel for
  for (int64_t r = 0; r < M; ++r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    const double mu = sum(xr, D) / static_cast<double>(D);
    const double var = sum_sq_dev(xr, D, mu) / static_cast<double>(D);
    const double istd = 1.0 / std::sqrt(var + eps);
    mean[r] = static_cast<T>(mu);
    invstd[r] = static_cast<T>(istd);
    const T mu_t = static_cast<T>(mu), istd_t = static_cast<T>(istd);
    for (int64_t d = 0; d < D; ++d) {
      const T xhat = (xr[d] - mu_t) * istd_t;
      yr[d] = (gamma ? gamma[d] : T(1)) * xhat + (beta ? beta[d] : T(0));
    }
  }
}

template <class T>
void layer_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t M, int64_t D) {
  if (dx) {
#pragma omp parallel for
    for (int64_t r = 0; r < M; ++r) {
      const T* dyr = dy + r * D;
      const T* xr = x + r * D;
      T* dxr = dx + r * D;
      const double mu = mean[r], istd = invstd[r];
      // Row sums of dxhat = gamma[d] * dy and of dxhat * (x - mean), for (*).
      double s_dxhat = 0.0, s_dxhat_xmu = 0.0;
      for (int64_t d = 0; d < D; ++d) {
        const double dxhat = static_cast<double>(gamma ? gamma[d] : T(1)) * dyr[d];
        s_dxhat += dxhat;
        s_dxhat_xmu += dxhat * (static_cast<double>(xr[d]) - mu);
      }
      const T mean_dxhat = static_cast<T>(s_dxhat / static_cast<double>(D));
      const T mean_dxhat_xhat = static_cast<T>(s_dxhat_xmu * istd / static_cast<double>(D));
      const T mu_t = static_cast<T>(mu), istd_t = static_cast<T>(istd);
      for (int64_t d = 0; d < D; ++d) {
        const T xhat = (xr[d] - mu_t) * istd_t;
        const T dxhat = (gamma ? gamma[d] : T(1)) * dyr[d];
        dxr[d] = istd_t * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
      }
    }
  }
  if (!dgamma && !dbeta) return;
  // dgamma[d] = sum_r dy[r, d] * xhat[r, d],  dbeta[d] = sum_r dy[r, d]: column sums.
#pragma omp parallel for
  for (int64_t d = 0; d < D; ++d) {
    double dg = 0.0, db = 0.0;
    for (int64_t r = 0; r < M; ++r) {
      const double g = dy[r * D + d];
      db += g;
      dg += g * (static_cast<double>(x[r * D + d]) - mean[r]) * invstd[r];
    }
    if (dgamma) dgamma[d] = static_cast<T>(dg);
    if (dbeta) dbeta[d] = static_cast<T>(db);
  }
}

#define MINIDL_KERNELS(K) MINIDL_BATCH_NORM_KERNELS(K) MINIDL_GROUP_LAYER_NORM_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

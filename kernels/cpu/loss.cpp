// The tuned CPU loss engine (the default on the CPU; the plain reference is kernels/ref/loss.cpp).
// Inputs are [N, C] rows, target[N] class indices; both losses are means over the N rows.
//   nll_loss_fwd:      loss = -(1/N) sum_n lp[n, t_n]
//   nll_loss_bwd:      dlp = 0 except dlp[n, t_n] = -dloss / N
//   cross_entropy_fwd: fused log_softmax + smoothed NLL, one pass over each row's max, one
//     over its exponentials: lse = m + log sum_c exp(x_c - m) (m the row max: exponents <= 0),
//     loss_n = -sum_c q_c (x_c - lse) = lse - (1 - eps) x_t - (eps / C) sum_c x_c
//     with q = (1 - eps) onehot(t) + eps / C (sum_c q_c = 1).
//   cross_entropy_bwd: dx_c = (dloss / N) (softmax_c - q_c), softmax_c = exp(x_c - lse).
// Saved for backward: lse[N] (N numbers instead of an [N, C] softmax; backward recomputes exp).
// Labels are checked before any arithmetic: status = {1, t} names an offending label.
// Short rows (C < 64, e.g. CIFAR's 10 classes) are handled 64 at a time with one flat
// vectorized loop for the chunk's exponentials (exp_nonpos, kernels/cpu/simd.h), like the CPU softmax.
// Row sums and the batch total accumulate in double; work goes to OpenMP threads only when the
// batch is large (a [128, 10] loss takes a microsecond or two, about what a parallel region costs).
#include <algorithm>
#include <cmath>

#include "kernels/cpu/simd.h"
#include "kernels/loss.h"

namespace minidl::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 14;  // elements; below this, one thread is faster
constexpr int64_t kShortRow = 64;          // rows shorter than this are done in chunks...
constexpr int64_t kChunkRows = 64;         // ...of this many rows

// Sum over items [0, n) of fn(item), serially for small work (no OpenMP region at all) or split
// across the threads.
template <class Fn>
double sum_items(int64_t n, int64_t work, const Fn& fn) {
  double total = 0.0;
  if (work < kParallelMin || n < 2) {
    for (int64_t i = 0; i < n; ++i) total += fn(i);
    return total;
  }
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int64_t i = 0; i < n; ++i) total += fn(i);
  return total;
}

// True (and status = {1, t}) when some target is outside [0, C).
bool bad_label(const int64_t* target, int64_t N, int64_t C, int64_t* status) {
  status[0] = status[1] = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (target[n] < 0 || target[n] >= C) {
      status[0] = 1, status[1] = target[n];
      return true;
    }
  }
  return false;
}

// Row max and, with label smoothing, the row sum of the logits (else 0).
template <class T>
T row_max_sum(const T* x, int64_t C, bool with_sum, double* sum_x) {
  T m = x[0];
  double sx = 0.0;
  if (with_sum) {
#pragma omp simd reduction(max : m) reduction(+ : sx)
    for (int64_t c = 0; c < C; ++c) {
      m = x[c] > m ? x[c] : m;  // not std::max: its references defeat the vectorizer
      sx += x[c];
    }
  } else {
#pragma omp simd reduction(max : m)
    for (int64_t c = 1; c < C; ++c) m = x[c] > m ? x[c] : m;
  }
  *sum_x = sx;
  return m;
}

// loss_n = lse - (1 - eps) x_t - (eps / C) sum_c x_c
double row_loss(double lse, double x_t, double sum_x, double eps, int64_t C) {
  return lse - (1.0 - eps) * x_t - eps / static_cast<double>(C) * sum_x;
}

// One long row (C >= kShortRow): stores lse, returns the row's loss.
template <class T>
double cross_entropy_long_row(const T* x, int64_t t, T* lse, int64_t C, double eps) {
  double sum_x;
  const T m = row_max_sum(x, C, eps != 0.0, &sum_x);
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < C; ++c) s += exp_nonpos(x[c] - m);
  const double l = static_cast<double>(m) + std::log(s);
  *lse = static_cast<T>(l);
  return row_loss(l, x[t], sum_x, eps, C);
}

// n <= kChunkRows short rows (C < kShortRow): per-row vector loops would be mostly loop
// overhead, so the chunk's exponentials are one flat vectorized loop (3x faster for C = 10).
template <class T>
double cross_entropy_short_rows(const T* x, const int64_t* target, T* lse, int64_t n, int64_t C, double eps) {
  T e[kChunkRows * kShortRow];
  T m[kChunkRows];
  double sum_x[kChunkRows];
  for (int64_t r = 0; r < n; ++r) {
    m[r] = row_max_sum(x + r * C, C, eps != 0.0, &sum_x[r]);
    for (int64_t c = 0; c < C; ++c) e[r * C + c] = x[r * C + c] - m[r];
  }
#pragma omp simd
  for (int64_t j = 0; j < n * C; ++j) e[j] = exp_nonpos(e[j]);
  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) {
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += e[r * C + c];
    const double l = static_cast<double>(m[r]) + std::log(s);
    lse[r] = static_cast<T>(l);
    total += row_loss(l, x[r * C + target[r]], sum_x[r], eps, C);
  }
  return total;
}

}  // namespace

template <class T>
void nll_loss_fwd(const T* log_probs, const int64_t* target, T* loss, int64_t N, int64_t C, int64_t* status) {
  if (bad_label(target, N, C, status)) return;
  double total = 0.0;  // N gathers: never worth a thread
  for (int64_t n = 0; n < N; ++n) total += log_probs[n * C + target[n]];
  loss[0] = static_cast<T>(-total / static_cast<double>(N));
}

template <class T>
void nll_loss_bwd(const int64_t* target, const T* dloss, T* dlog_probs, int64_t N, int64_t C) {
  const T g = static_cast<T>(-static_cast<double>(dloss[0]) / static_cast<double>(N));
  std::fill(dlog_probs, dlog_probs + N * C, T(0));
  for (int64_t n = 0; n < N; ++n) dlog_probs[n * C + target[n]] = g;
}

template <class T>
void cross_entropy_fwd(const T* logits, const int64_t* target, T* loss, T* lse, int64_t N, int64_t C, T smoothing,
                       int64_t* status) {
  if (bad_label(target, N, C, status)) return;
  const double eps = smoothing;
  double total;
  if (C < kShortRow) {
    total = sum_items((N + kChunkRows - 1) / kChunkRows, N * C, [&](int64_t i) {
      const int64_t n = i * kChunkRows;
      return cross_entropy_short_rows(logits + n * C, target + n, lse + n, std::min(kChunkRows, N - n), C, eps);
    });
  } else {
    total = sum_items(N, N * C, [&](int64_t n) {
      return cross_entropy_long_row(logits + n * C, target[n], lse + n, C, eps);
    });
  }
  loss[0] = static_cast<T>(total / static_cast<double>(N));
}

template <class T>
void cross_entropy_bwd(const T* logits, const int64_t* target, const T* lse, const T* dloss, T* dlogits, int64_t N,
                       int64_t C, T smoothing) {
  const double g = static_cast<double>(dloss[0]) / static_cast<double>(N);
  const T gt = static_cast<T>(g), off = static_cast<T>(g * smoothing / static_cast<double>(C)),
          on = static_cast<T>(g * (1.0 - static_cast<double>(smoothing)));
  // Chunks of rows: x - lse row by row, then one flat vectorized loop for the exponentials
  // (sum_items used as a parallel for: the chunks return 0).
  sum_items((N + kChunkRows - 1) / kChunkRows, N * C, [&](int64_t i) {
    const int64_t n0 = i * kChunkRows, n1 = std::min(N, n0 + kChunkRows);
    for (int64_t n = n0; n < n1; ++n) {
      const T l = lse[n];
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) dlogits[n * C + c] = logits[n * C + c] - l;
    }
    T* dx = dlogits + n0 * C;
#pragma omp simd
    for (int64_t j = 0; j < (n1 - n0) * C; ++j) dx[j] = gt * exp_nonpos(dx[j]) - off;
    for (int64_t n = n0; n < n1; ++n) dlogits[n * C + target[n]] -= on;
    return 0.0;
  });
}

#define MINIDL_KERNELS(K) MINIDL_LOSS_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

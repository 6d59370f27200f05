// The loss reference (runs on the CPU): the executable specification of kernels/cpu/loss.cpp and
// kernels/cuda/loss.cu. Inputs are [N, C] rows, target[N] class indices; both losses are means
// over the N rows.
//   nll_loss_fwd:      loss = -(1/N) sum_n lp[n, t_n]
//   nll_loss_bwd:      dlp = 0 except dlp[n, t_n] = -dloss / N
//   cross_entropy_fwd: log_softmax and the smoothed NLL in one pass per row:
//     lse_n = m + log sum_c exp(x_c - m)   (m the row max: every exponent <= 0)
//     loss_n = -sum_c q_c (x_c - lse_n) = lse_n - (1 - eps) x_t - (eps / C) sum_c x_c
//     with q = (1 - eps) onehot(t) + eps / C (sum_c q_c = 1); loss = (1/N) sum_n loss_n
//   cross_entropy_bwd: dx_c = (dloss / N) (exp(x_c - lse_n) - q_c)
// Saved for backward: lse[N]. Labels are checked before any arithmetic: status = {1, t} names
// an offending label. Sums accumulate in double.
#include <cmath>

#include "kernels/loss.h"

namespace minidl::ref {

namespace {

// True (and status = {1, t}) when some target is outside [0, C); else status = {0, 0}.
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

}  // namespace

template <class T>
void nll_loss_fwd(const T* log_probs, const int64_t* target, T* loss, int64_t N, int64_t C, int64_t* status) {
  if (bad_label(target, N, C, status)) return;
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) total += log_probs[n * C + target[n]];
  loss[0] = static_cast<T>(-total / static_cast<double>(N));
}

template <class T>
void nll_loss_bwd(const int64_t* target, const T* dloss, T* dlog_probs, int64_t N, int64_t C) {
  const double g = -static_cast<double>(dloss[0]) / static_cast<double>(N);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) dlog_probs[n * C + c] = c == target[n] ? static_cast<T>(g) : T(0);
}

template <class T>
void cross_entropy_fwd(const T* logits, const int64_t* target, T* loss, T* lse, int64_t N, int64_t C, T smoothing,
                       int64_t* status) {
  if (bad_label(target, N, C, status)) return;
  const double eps = smoothing;
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const T* x = logits + n * C;
    double m = x[0], sum_x = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      m = x[c] > m ? x[c] : m;
      sum_x += x[c];
    }
    double s = 0.0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(x[c] - m);
    const double l = m + std::log(s);
    lse[n] = static_cast<T>(l);
    total += l - (1.0 - eps) * x[target[n]] - eps / static_cast<double>(C) * sum_x;
  }
  loss[0] = static_cast<T>(total / static_cast<double>(N));
}

template <class T>
void cross_entropy_bwd(const T* logits, const int64_t* target, const T* lse, const T* dloss, T* dlogits, int64_t N,
                       int64_t C, T smoothing) {
  const double g = static_cast<double>(dloss[0]) / static_cast<double>(N), eps = smoothing;
#pragma omp parallel for
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double q = (c == target[n] ? 1.0 - eps : 0.0) + eps / static_cast<double>(C);
      const double softmax = std::exp(static_cast<double>(logits[n * C + c]) - lse[n]);
      dlogits[n * C + c] = static_cast<T>(g * (softmax - q));
    }
}

#define MINIDL_KERNELS(K) MINIDL_LOSS_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

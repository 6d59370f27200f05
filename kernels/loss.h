// Classification losses with mean reduction over the batch (PyTorch's defaults).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

// log_probs [N, C] (e.g. from log_softmax), target int64 [N] with values in [0, C).
// loss = -(1/N) sum_n log_probs[n, target[n]]
Tensor nll_loss(const Tensor& log_probs, const Tensor& target);

// logits [N, C], target int64 [N]. With label smoothing eps the target distribution is
// (1 - eps) * onehot + eps / C (PyTorch's definition):
// loss = (1/N) sum_n [ -(1 - eps) log p[n, t_n] - (eps / C) sum_c log p[n, c] ],  p = softmax(logits)
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0);

}  // namespace ops

// Raw kernels. [N, C] row-major inputs, target[N] int64, N >= 1 and C >= 1; loss is one element;
// dloss points at the one-element gradient of the loss (a device pointer on CUDA: no sync).
// The forward kernels validate the labels (then loss is not meaningful). ref:: and cpu:: set
// status[2] to {0, 0} when every target is in [0, C), else to {1, t} for an offending t. cuda:: only reports:
// status is cuda::data_error_slot() (core/cuda_context.h), which gets {code, t, C} for an
// offending t and is thrown at the next synchronization.
//   nll_loss_fwd:      loss = -(1/N) sum_n lp[n, t_n]
//   nll_loss_bwd:      dlp[n, c] = -(dloss / N) [c == t_n]
//   cross_entropy_fwd: lse[n] = log sum_c exp(x[n, c]) (saved for backward),
//                      loss = (1/N) sum_n (lse[n] - (1 - eps) x[n, t_n] - (eps / C) sum_c x[n, c])
//   cross_entropy_bwd: dx[n, c] = (dloss / N) (exp(x[n, c] - lse[n]) - q[n, c]),
//                      q[n, c] = (1 - eps) [c == t_n] + eps / C
#define MINIDL_LOSS_KERNELS(K)                                                                                 \
  K(nll_loss_fwd, (const T* log_probs, const int64_t* target, T* loss, int64_t N, int64_t C,                   \
      int64_t* status))                                                                                        \
  K(nll_loss_bwd, (const int64_t* target, const T* dloss, T* dlog_probs, int64_t N, int64_t C))                \
  K(cross_entropy_fwd, (const T* logits, const int64_t* target, T* loss, T* lse, int64_t N, int64_t C,         \
      T smoothing, int64_t* status))                                                                           \
  K(cross_entropy_bwd, (const T* logits, const int64_t* target, const T* lse, const T* dloss, T* dlogits,      \
      int64_t N, int64_t C, T smoothing))
namespace ref { MINIDL_LOSS_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/loss.cpp
namespace cpu { MINIDL_LOSS_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/loss.cpp (tuned)
namespace cuda { MINIDL_LOSS_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/loss.cu

// The engine choice of nll_loss and cross_entropy (kernels/loss.cpp; see kernels/engine.h):
// CPU cpu (the default) or ref; CUDA cuda. MINIDL_LOSS_ENGINE=ref.
EngineChoice& loss_engine();

}  // namespace minidl

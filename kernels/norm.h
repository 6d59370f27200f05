// Normalization: batch_norm, group_norm, layer_norm (PyTorch's semantics and argument order).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl::ops {

// x [N, C, *]. Training: normalize each channel with the batch's mean and biased variance over
// (N, *); when running_mean / running_var are given, update them in place:
//   running = (1 - momentum) * running + momentum * batch_stat  (running_var gets the UNBIASED variance)
// Eval (training = false): normalize with running_mean / running_var (required).
// weight (gamma) / bias (beta) [C] or undefined (no affine).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// x [N, C, *]: C split into num_groups groups; each (sample, group) is normalized over its C/G
// channels and all positions; then per-channel affine weight / bias [C] (or undefined).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

// Normalizes over the trailing dims given by normalized_shape (x.shape ends with it); weight /
// bias have shape normalized_shape (elementwise affine) or are undefined.
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace minidl::ops

namespace minidl {

// Raw kernels: contiguous arrays, identical parameters on both devices. All three normalize
//   xhat = (x - mean) * invstd,   invstd = 1 / sqrt(var + eps),   y = gamma * xhat + beta
// and differ only in which elements share (mean, invstd) and which share (gamma, beta):
//   batch_norm  x [N, C, S] (S = product of the dims after C; 1 for [N, C]):
//               statistics per channel over (N, S) -> mean, invstd [C];  gamma, beta [C]
//   group_norm  x [N, C, S], G groups of C/G channels:
//               statistics per (n, g) over (C/G, S) -> mean, invstd [N, G];  gamma, beta [C]
//   layer_norm  x [M, D] (D = numel of normalized_shape):
//               statistics per row over D -> mean, invstd [M];  gamma, beta [D]
// gamma / beta may be null (no affine: gamma = 1, beta = 0). The forward kernels always write
// mean and invstd (what the backward needs). batch_norm_fwd_train also updates running_mean /
// running_var in place when they are not null; batch_norm_fwd_eval normalizes with them and
// writes the statistics it used (mean = running_mean, invstd = 1 / sqrt(running_var + eps)).
// The backward kernels take the saved mean and invstd and write (with `=`) each of dx, dgamma,
// dbeta that is not null; batch_norm_bwd with training = false is the eval-mode gradient (the
// statistics are constants there). Formulas and derivations: kernels/ref/norm.cpp.
#define MINIDL_BATCH_NORM_KERNELS(K)                                                                           \
  K(batch_norm_fwd_train, (const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd,                \
      T* running_mean, T* running_var, int64_t N, int64_t C, int64_t S, double momentum, double eps))          \
  K(batch_norm_fwd_eval, (const T* x, const T* gamma, const T* beta, const T* running_mean,                    \
      const T* running_var, T* y, T* mean, T* invstd, int64_t N, int64_t C, int64_t S, double eps))            \
  K(batch_norm_bwd, (const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx,           \
      T* dgamma, T* dbeta, int64_t N, int64_t C, int64_t S, bool training))
#define MINIDL_GROUP_LAYER_NORM_KERNELS(K)                                                                     \
  K(group_norm_fwd, (const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t N,           \
      int64_t C, int64_t S, int64_t G, double eps))                                                            \
  K(group_norm_bwd, (const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx,           \
      T* dgamma, T* dbeta, int64_t N, int64_t C, int64_t S, int64_t G))                                        \
  K(layer_norm_fwd, (const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, int64_t M,           \
      int64_t D, double eps))                                                                                  \
  K(layer_norm_bwd, (const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx,           \
      T* dgamma, T* dbeta, int64_t M, int64_t D))
namespace ref {  // kernels/ref/norm.cpp
MINIDL_BATCH_NORM_KERNELS(MINIDL_DECLARE_KERNEL)
MINIDL_GROUP_LAYER_NORM_KERNELS(MINIDL_DECLARE_KERNEL)
}  // namespace ref
namespace cuda {  // kernels/cuda/norm.cu
MINIDL_BATCH_NORM_KERNELS(MINIDL_DECLARE_KERNEL)
MINIDL_GROUP_LAYER_NORM_KERNELS(MINIDL_DECLARE_KERNEL)
}  // namespace cuda
// kernels/cpu/norm.cpp (tuned: one pass for the moments, float sums per plane).
namespace cpu {
MINIDL_BATCH_NORM_KERNELS(MINIDL_DECLARE_KERNEL)
MINIDL_GROUP_LAYER_NORM_KERNELS(MINIDL_DECLARE_KERNEL)
}  // namespace cpu
// cuDNN's batch norm (kernels/cudnn/norm.cu). Its backward is the training-mode formula only:
// batch_norm_bwd requires training = true (the front-end runs the eval-mode backward on cuda::).
namespace cudnn { MINIDL_BATCH_NORM_KERNELS(MINIDL_DECLARE_KERNEL) }

// The engine choice of batch_norm (kernels/norm.cpp; see kernels/engine.h): on CPU tensors cpu
// (the default) or ref; on CUDA tensors cuda (the default) or cudnn. MINIDL_BN_ENGINE=ref,cudnn.
EngineChoice& batch_norm_engine();
// group_norm's: cpu (the default) or ref on the CPU; cuda on CUDA. MINIDL_GN_ENGINE=ref.
EngineChoice& group_norm_engine();
// layer_norm's: cpu (the default) or ref on the CPU; cuda on CUDA. MINIDL_LN_ENGINE=ref.
EngineChoice& layer_norm_engine();

}  // namespace minidl

// Fused optimizer updates: one pass over a parameter, its gradient and its optimizer state,
// with torch.optim's exact semantics (so recipes carry over). In place, never recorded by autograd.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

// torch.optim.SGD for one parameter. momentum_buffer may be undefined when momentum == 0.
void sgd_update_(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
                 double dampening, double weight_decay, bool nesterov, bool first_step);
// torch.optim.Adam (decoupled = false) / AdamW (decoupled = true) for one parameter at step t >= 1.
void adam_update_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, double lr, double beta1,
                  double beta2, double eps, double weight_decay, bool decoupled, int64_t step);

}  // namespace ops

// sgd_update:   g = grad + wd * p
//               buf = first_step ? g : momentum * buf + (1 - dampening) * g      (when momentum != 0)
//               g = nesterov ? g + momentum * buf : buf                         (when momentum != 0)
//               p = p - lr * g
// adam_update:  decoupled (AdamW): p = p * (1 - lr * wd)      else (Adam): g = grad + wd * p
//               m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//               p = p - step_size * m / (sqrt(v) / bc2_sqrt + eps)
//               with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t) (computed by the caller)
#define MINIDL_OPTIM_UPDATE_KERNELS(K)                                                                         \
  K(sgd_update, (T* p, const T* grad, T* buf, int64_t n, T lr, T momentum, T dampening, T weight_decay,        \
      bool nesterov, bool first_step))                                                                         \
  K(adam_update, (T* p, const T* grad, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps,                   \
      T weight_decay, bool decoupled, T step_size, T bc2_sqrt))
namespace ref { MINIDL_OPTIM_UPDATE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/optim_update.cpp
namespace cpu { MINIDL_OPTIM_UPDATE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/optim_update.cpp (tuned)
namespace cuda { MINIDL_OPTIM_UPDATE_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/optim_update.cu

// The engine choice of the optimizer updates (kernels/optim_update.cpp; see kernels/engine.h): on CPU tensors cpu
// (the default) or ref; on CUDA tensors cuda. MINIDL_OPTIM_ENGINE=ref.
EngineChoice& optim_update_engine();
}  // namespace minidl

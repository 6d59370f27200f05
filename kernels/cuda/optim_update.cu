// CUDA optimizer updates (formulas in kernels/optim_update.h): one thread per parameter element,
// grid-stride; parameter, gradient and state are each read and written once.
#include "core/cuda_utils.cuh"
#include "kernels/optim_update.h"

namespace minidl::cuda {
namespace {

template <class T>
__global__ void sgd_kernel(T* p, const T* grad, T* buf, int64_t n, T lr, T momentum, T dampening, T weight_decay,
                           bool nesterov, bool first_step) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    T g = grad[i] + weight_decay * p[i];
    if (momentum != T(0)) {
      buf[i] = first_step ? g : momentum * buf[i] + (T(1) - dampening) * g;
      g = nesterov ? g + momentum * buf[i] : buf[i];
    }
    p[i] -= lr * g;
  }
}

template <class T>
__global__ void adam_kernel(T* p, const T* grad, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                            bool decoupled, T step_size, T bc2_sqrt) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    T g = grad[i];
    if (decoupled) p[i] *= T(1) - lr * weight_decay;
    else g += weight_decay * p[i];
    m[i] = beta1 * m[i] + (T(1) - beta1) * g;
    v[i] = beta2 * v[i] + (T(1) - beta2) * g * g;
    p[i] -= step_size * m[i] / (sqrt(v[i]) / bc2_sqrt + eps);
  }
}

}  // namespace

template <class T>
void sgd_update(T* p, const T* grad, T* buf, int64_t n, T lr, T momentum, T dampening, T weight_decay, bool nesterov,
                bool first_step) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, sgd_kernel)(p, grad, buf, n, lr, momentum, dampening, weight_decay, nesterov,
                                                 first_step);
}

template <class T>
void adam_update(T* p, const T* grad, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                 bool decoupled, T step_size, T bc2_sqrt) {
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, adam_kernel)(p, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, decoupled,
                                                  step_size, bc2_sqrt);
}

#define MINIDL_KERNELS(K) MINIDL_OPTIM_UPDATE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

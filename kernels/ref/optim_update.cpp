// The optimizer-update reference (runs on the CPU; formulas in kernels/optim_update.h): one plain
// loop per parameter; kernels/cpu/optim_update.cpp is the same loop, vectorized and threaded.
#include <cmath>

#include "kernels/optim_update.h"

namespace minidl::ref {

template <class T>
void sgd_update(T* p, const T* grad, T* buf, int64_t n, T lr, T momentum, T dampening, T weight_decay, bool nesterov,
                bool first_step) {
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i] + weight_decay * p[i];
    if (momentum != T(0)) {
      buf[i] = first_step ? g : momentum * buf[i] + (T(1) - dampening) * g;
      g = nesterov ? g + momentum * buf[i] : buf[i];
    }
    p[i] -= lr * g;
  }
}

template <class T>
void adam_update(T* p, const T* grad, T* m, T* v, int64_t n, T lr, T beta1, T beta2, T eps, T weight_decay,
                 bool decoupled, T step_size, T bc2_sqrt) {
  for (int64_t i = 0; i < n; ++i) {
    T g = grad[i];
    if (decoupled) p[i] *= T(1) - lr * weight_decay;
    else g += weight_decay * p[i];
    m[i] = beta1 * m[i] + (T(1) - beta1) * g;
    v[i] = beta2 * v[i] + (T(1) - beta2) * g * g;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

#define MINIDL_KERNELS(K) MINIDL_OPTIM_UPDATE_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

// Front-end of the fused optimizer updates: checks and dispatch (no autograd: these mutate
// parameters in place between backward passes).
#include "kernels/optim_update.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace minidl {
// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& optim_update_engine() {
  static EngineChoice choice("optim_update", "MINIDL_OPTIM_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
}  // namespace minidl
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define OPTIM_ENGINES ref, cpu, cuda
// The active engine's function fn (e.g. relu_fwd<T>) for tensors on `device`.
#define OPTIM_KERNEL(device, fn) MINIDL_CHOSEN_KERNEL(optim_update_engine(), device, fn, OPTIM_ENGINES)

namespace minidl::ops {
namespace {
void check_like(const char* op, const Tensor& param, const Tensor& other, const char* name) {
  MINIDL_CHECK(other.defined(), op, ": ", name, " is undefined");
  MINIDL_CHECK(other.shape() == param.shape(), op, ": ", name, " has shape ", other.shape(), ", the parameter ",
               param.shape());
  check_same_device_dtype(op, {&param, &other});
}
}  // namespace

void sgd_update_(Tensor& param, const Tensor& grad, Tensor& momentum_buffer, double lr, double momentum,
                 double dampening, double weight_decay, bool nesterov, bool first_step) {
  check_like("sgd_update_", param, grad, "grad");
  if (momentum != 0.0) check_like("sgd_update_", param, momentum_buffer, "momentum_buffer");
  dispatch_floating(param.dtype(), "sgd_update_", [&](auto tag) {
    using T = decltype(tag);
    OPTIM_KERNEL(param.device(), sgd_update<T>)(param.data<T>(), grad.data<T>(),
                                                momentum != 0.0 ? momentum_buffer.data<T>() : nullptr, param.numel(),
                                                T(lr), T(momentum), T(dampening), T(weight_decay), nesterov,
                                                first_step);
  });
}

void adam_update_(Tensor& param, const Tensor& grad, Tensor& exp_avg, Tensor& exp_avg_sq, double lr, double beta1,
                  double beta2, double eps, double weight_decay, bool decoupled, int64_t step) {
  check_like("adam_update_", param, grad, "grad");
  check_like("adam_update_", param, exp_avg, "exp_avg");
  check_like("adam_update_", param, exp_avg_sq, "exp_avg_sq");
  MINIDL_CHECK(step >= 1, "adam_update_: step must be >= 1, got ", step);
  // Bias corrections in double on the host: 1 - beta^t loses precision in float for small t.
  const double step_size = lr / (1.0 - std::pow(beta1, static_cast<double>(step)));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step)));
  dispatch_floating(param.dtype(), "adam_update_", [&](auto tag) {
    using T = decltype(tag);
    OPTIM_KERNEL(param.device(), adam_update<T>)(param.data<T>(), grad.data<T>(), exp_avg.data<T>(),
                                                 exp_avg_sq.data<T>(), param.numel(), T(lr), T(beta1), T(beta2),
                                                 T(eps), T(weight_decay), decoupled, T(step_size), T(bc2_sqrt));
  });
}

}  // namespace minidl::ops

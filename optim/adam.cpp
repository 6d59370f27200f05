#include "optim/adam.h"

#include "core/autograd.h"
#include "kernels/optim_update.h"

namespace minidl::optim {

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o) : Adam(std::move(params), o, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o, bool decoupled)
    : Optimizer(std::move(params), o.lr()), options_(o), decoupled_(decoupled) {
  MINIDL_CHECK(o.beta1() >= 0.0 && o.beta1() < 1.0 && o.beta2() >= 0.0 && o.beta2() < 1.0, name(),
               ": betas must be in [0, 1), got (", o.beta1(), ", ", o.beta2(), ")");
  MINIDL_CHECK(o.eps() >= 0.0 && o.weight_decay() >= 0.0, name(), ": eps and weight_decay must be >= 0, got ",
               o.eps(), " and ", o.weight_decay());
}

void Adam::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    Tensor& m = state_[i]["exp_avg"];
    Tensor& v = state_[i]["exp_avg_sq"];
    if (!m.defined()) m = zeros_like(p);
    if (!v.defined()) v = zeros_like(p);
    ops::adam_update_(p, p.grad(), m, v, lr_, options_.beta1(), options_.beta2(), options_.eps(),
                      options_.weight_decay(), decoupled_, ++steps_[i]);
  }
}

}  // namespace minidl::optim

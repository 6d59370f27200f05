#include "optim/sgd.h"

#include "core/autograd.h"
#include "kernels/optim_update.h"

namespace minidl::optim {

SGD::SGD(std::vector<Tensor> params, const SGDOptions& o) : Optimizer(std::move(params), o.lr()), options_(o) {
  MINIDL_CHECK(o.momentum() >= 0.0, "SGD: momentum must be >= 0, got ", o.momentum());
  MINIDL_CHECK(o.weight_decay() >= 0.0, "SGD: weight_decay must be >= 0, got ", o.weight_decay());
  MINIDL_CHECK(!o.nesterov() || (o.momentum() > 0.0 && o.dampening() == 0.0),
               "SGD: nesterov needs momentum > 0 and dampening 0 (got momentum ", o.momentum(), ", dampening ",
               o.dampening(), ")");
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    Tensor& buf = state_[i]["momentum_buffer"];
    const bool first = !buf.defined();
    if (first && options_.momentum() != 0.0) buf = empty_like(p);
    ops::sgd_update_(p, p.grad(), buf, lr_, options_.momentum(), options_.dampening(), options_.weight_decay(),
                     options_.nesterov(), first);
    ++steps_[i];
  }
}

}  // namespace minidl::optim

// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, exactly as
// torch.optim.SGD (formulas in kernels/optim_update.h).
#pragma once
#include "optim/optimizer.h"
#include "core/options.h"

namespace minidl::optim {

class SGDOptions {
 public:
  explicit SGDOptions(double lr) : lr_(lr) {}
  MINIDL_ARG(double, lr, 0.01)
  MINIDL_ARG(double, momentum, 0.0)
  MINIDL_ARG(double, dampening, 0.0)
  MINIDL_ARG(double, weight_decay, 0.0)
  MINIDL_ARG(bool, nesterov, false)
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  void step() override;
  std::string name() const override { return "SGD"; }
  double momentum() const override { return options_.momentum(); }
  void set_momentum(double m) override { options_.momentum(m); }
  // The options as they are now (the learning rate a schedule set included).
  SGDOptions options() const { return SGDOptions(options_).lr(lr_); }

 private:
  SGDOptions options_;  // all but the learning rate, which lives in Optimizer::lr_ alone
};

}  // namespace minidl::optim

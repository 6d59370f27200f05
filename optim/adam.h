// Adam and AdamW, exactly as torch.optim.Adam / torch.optim.AdamW (formulas in
// kernels/optim_update.h). Adam adds weight_decay * p to the gradient (L2); AdamW decays the
// weights directly (decoupled), which is what makes weight decay work with adaptive steps.
#pragma once
#include "optim/optimizer.h"
#include "core/options.h"

namespace minidl::optim {

class AdamOptions {
 public:
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  MINIDL_ARG(double, lr, 1e-3)
  MINIDL_ARG(double, beta1, 0.9)
  MINIDL_ARG(double, beta2, 0.999)
  MINIDL_ARG(double, eps, 1e-8)
  MINIDL_ARG(double, weight_decay, 0.0)

 public:
  AdamOptions& betas(double b1, double b2) {
    beta1_ = b1, beta2_ = b2;
    return *this;
  }
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  void step() override;
  std::string name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  double momentum() const override { return options_.beta1(); }
  void set_momentum(double beta1) override { options_.beta1(beta1); }
  // The options as they are now (the learning rate a schedule set included).
  AdamOptions options() const { return AdamOptions(options_).lr(lr_); }

 protected:
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;  // all but the learning rate, which lives in Optimizer::lr_ alone
  bool decoupled_;
};

// AdamW: PyTorch's default weight decay for it is 0.01 (pass AdamOptions().weight_decay(...)).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamOptions& options) : Adam(std::move(params), options, true) {}
};

}  // namespace minidl::optim

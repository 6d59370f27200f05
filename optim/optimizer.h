// Optimizer: the base of SGD, Adam and AdamW (torch.optim semantics, one parameter group).
//   optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
//   loss.backward(); opt.step(); opt.zero_grad();
// Schedulers change lr() and momentum() (SGD's momentum, Adam's beta1) between steps.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl::optim {

// Everything needed to resume: per-parameter state tensors and scalars (lr, step counts, ...).
struct OptimizerState {
  NamedTensors tensors;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;

  // Updates every parameter that has a gradient.
  virtual void step() = 0;
  // Drops the gradients (PyTorch's zero_grad(set_to_none=True)): the next backward writes fresh ones.
  void zero_grad();
  virtual std::string name() const = 0;

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  // The momentum a schedule may cycle: SGD's momentum, Adam's beta1.
  virtual double momentum() const = 0;
  virtual void set_momentum(double m) = 0;

  const std::vector<Tensor>& params() const { return params_; }
  virtual OptimizerState state_dict() const;
  // Restores the state; errors name the key and the shapes when it does not fit these parameters.
  virtual void load_state_dict(const OptimizerState& state);

 protected:
  // Per-parameter state tensors, by state name ("momentum_buffer", "exp_avg", ...).
  std::vector<std::map<std::string, Tensor>> state_;
  std::vector<int64_t> steps_;  // per parameter, like PyTorch (a parameter without grad does not step)
  std::vector<Tensor> params_;
  double lr_;
};

}  // namespace minidl::optim

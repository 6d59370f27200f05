// Dropout layers: active in training mode, identity in eval mode.
#pragma once
#include "layers/module.h"

namespace minidl::nn {

// Zeroes each element with probability p, scaling survivors by 1/(1-p).
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override { return minidl::str("p=", p_); }

 private:
  double p_;
};

// Zeroes whole channels of [N, C, H, W] with probability p.
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout2d"; }
  std::string extra_repr() const override { return minidl::str("p=", p_); }

 private:
  double p_;
};

}  // namespace minidl::nn

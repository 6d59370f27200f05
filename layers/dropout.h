// Dropout layers: active in training mode, identity in eval mode.
//   nn::Dropout drop(0.5);   nn::Dropout2d drop2(nn::Dropout2dOptions(0.1));
#pragma once
#include "core/options.h"
#include "layers/module.h"

namespace minidl::nn {

class DropoutOptions {
 public:
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, so Dropout(0.2) reads well
  MINIDL_ARG(double, p, 0.5)
};
using Dropout2dOptions = DropoutOptions;

// Zeroes each element with probability p, scaling survivors by 1/(1-p).
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return minidl::str("p=", options_.p()); }

 private:
  DropoutOptions options_;
};
MINIDL_MODULE(Dropout);

// Zeroes whole channels of [N, C, H, W] with probability p.
class Dropout2dImpl : public Module {
 public:
  explicit Dropout2dImpl(const Dropout2dOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return minidl::str("p=", options_.p()); }

 private:
  Dropout2dOptions options_;
};
MINIDL_MODULE(Dropout2d);

}  // namespace minidl::nn

// nn::Residual: y = main(x) + shortcut(x), then optionally ReLU. The shortcut is the identity
// unless a projection (e.g. a strided 1x1 conv) is given for when main changes the shape.
//   nn::Residual block(nn::Sequential(...), nullptr, nn::ResidualOptions().relu_after(true));
// The addition is where autograd's fan-out accumulation happens: x's gradient is the sum of
// the gradients through both branches (the engine adds them, see core/autograd.h).
#pragma once
#include <memory>

#include "core/options.h"
#include "layers/module.h"

namespace minidl::nn {

class ResidualOptions {
  MINIDL_ARG(bool, relu_after, false)
};

class ResidualImpl : public Module {
 public:
  explicit ResidualImpl(AnyModule main, AnyModule shortcut = nullptr, const ResidualOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return options_.relu_after() ? "relu_after=True" : ""; }

 private:
  AnyModule main_{nullptr}, shortcut_{nullptr};
  ResidualOptions options_;
};
MINIDL_MODULE(Residual);

}  // namespace minidl::nn

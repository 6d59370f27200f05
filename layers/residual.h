// nn::Residual: y = main(x) + shortcut(x), then optionally ReLU. The shortcut is the identity
// unless a projection (e.g. a strided 1x1 conv) is given for when main changes the shape.
// The addition is where autograd's fan-out accumulation happens: x's gradient is the sum of
// the gradients through both branches (the engine adds them, see core/autograd.h).
#pragma once
#include <memory>

#include "layers/module.h"

namespace minidl::nn {

class Residual : public Module {
 public:
  explicit Residual(std::shared_ptr<Module> main, std::shared_ptr<Module> shortcut = nullptr, bool relu_after = false);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Residual"; }
  std::string extra_repr() const override { return relu_after_ ? "relu_after=True" : ""; }

 private:
  std::shared_ptr<Module> main_, shortcut_;
  bool relu_after_;
};

}  // namespace minidl::nn

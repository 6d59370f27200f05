// nn::Sequential: runs its children in order; they are named "0", "1", ... like PyTorch's.
#pragma once
#include <initializer_list>
#include <memory>

#include "layers/module.h"

namespace minidl::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  // Appends a module named by its position.
  Sequential& push_back(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return named_children().size(); }
};

}  // namespace minidl::nn

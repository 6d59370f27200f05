// nn::Sequential: runs its children in order; they are named "0", "1", ... like PyTorch's.
//   nn::Sequential head(nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(80, 10));
//   head->push_back(nn::LogSoftmax(1));   Tensor y = head(x);
#pragma once
#include <initializer_list>
#include <memory>
#include <utility>

#include "layers/module.h"

namespace minidl::nn {

class SequentialImpl : public Module {
 public:
  SequentialImpl() = default;
  // Any modules: holders (nn::Conv2d(...)) or pointers.
  template <class First, class... Rest>
  explicit SequentialImpl(First&& first, Rest&&... rest) {
    push_back(std::forward<First>(first));
    (push_back(std::forward<Rest>(rest)), ...);
  }
  explicit SequentialImpl(std::initializer_list<AnyModule> modules);
  // Appends a module named by its position.
  SequentialImpl& push_back(AnyModule m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return named_children().size(); }
};
MINIDL_MODULE(Sequential);

}  // namespace minidl::nn

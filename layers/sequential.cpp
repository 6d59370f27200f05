#include "layers/sequential.h"

namespace minidl::nn {

SequentialImpl::SequentialImpl(std::initializer_list<AnyModule> modules) {
  for (const AnyModule& m : modules) push_back(m);
}

SequentialImpl& SequentialImpl::push_back(AnyModule m) {
  register_module(std::to_string(size()), m.ptr());
  return *this;
}

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& [name, child] : named_children()) h = (*child)(h);
  return h;
}

}  // namespace minidl::nn

#include "layers/residual.h"

#include "kernels/elementwise.h"

namespace minidl::nn {

ResidualImpl::ResidualImpl(AnyModule main, AnyModule shortcut, const ResidualOptions& options) : options_(options) {
  MINIDL_CHECK(main, "Residual: the main branch is empty");
  main_ = register_module("main", main);
  if (shortcut) shortcut_ = register_module("shortcut", shortcut);
}

Tensor ResidualImpl::forward(const Tensor& x) {
  Tensor y = ops::add(main_(x), shortcut_ ? shortcut_(x) : x);
  return options_.relu_after() ? ops::relu(y) : y;
}

}  // namespace minidl::nn

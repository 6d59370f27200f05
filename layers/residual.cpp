#include "layers/residual.h"

#include "kernels/elementwise.h"

namespace minidl::nn {

Residual::Residual(std::shared_ptr<Module> main, std::shared_ptr<Module> shortcut, bool relu_after)
    : relu_after_(relu_after) {
  main_ = register_module("main", std::move(main));
  if (shortcut) shortcut_ = register_module("shortcut", std::move(shortcut));
}

Tensor Residual::forward(const Tensor& x) {
  Tensor y = ops::add((*main_)(x), shortcut_ ? (*shortcut_)(x) : x);
  return relu_after_ ? ops::relu(y) : y;
}

}  // namespace minidl::nn

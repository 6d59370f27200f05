#include "layers/linear.h"

#include "kernels/linear.h"
#include "layers/init.h"

namespace minidl::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias) : in_(in_features), out_(out_features) {
  MINIDL_CHECK(in_ > 0 && out_ > 0, "Linear: sizes must be positive, got in=", in_, " out=", out_);
  weight = empty({out_, in_});
  init::default_uniform_(weight, in_);
  weight = register_parameter("weight", weight);
  if (with_bias) {
    bias = empty({out_});
    init::default_uniform_(bias, in_);
    bias = register_parameter("bias", bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return ops::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  return minidl::str("in_features=", in_, ", out_features=", out_, ", bias=", bias.defined() ? "True" : "False");
}

}  // namespace minidl::nn

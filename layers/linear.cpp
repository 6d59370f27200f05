#include "layers/linear.h"

#include "kernels/linear.h"
#include "layers/init.h"

namespace minidl::nn {

LinearImpl::LinearImpl(const LinearOptions& o) : options_(o) {
  const int64_t in = o.in_features(), out = o.out_features();
  MINIDL_CHECK(in > 0 && out > 0, "Linear: sizes must be positive, got in=", in, " out=", out);
  weight = empty({out, in});
  init::default_uniform_(weight, in);
  weight = register_parameter("weight", weight);
  if (o.bias()) {
    bias = empty({out});
    init::default_uniform_(bias, in);
    bias = register_parameter("bias", bias);
  }
}

Tensor LinearImpl::forward(const Tensor& x) { return ops::linear(x, weight, bias); }

std::string LinearImpl::extra_repr() const {
  return minidl::str("in_features=", options_.in_features(), ", out_features=", options_.out_features(),
                     ", bias=", bias.defined() ? "True" : "False");
}

}  // namespace minidl::nn

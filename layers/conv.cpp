#include "layers/conv.h"

#include "kernels/norm.h"
#include "kernels/view.h"
#include "layers/init.h"

namespace minidl::nn {

Conv2dImpl::Conv2dImpl(const Conv2dOptions& o) : options_(o) {
  const int64_t g = o.groups(), in = o.in_channels(), out = o.out_channels();
  const Size2 k = o.kernel_size();
  MINIDL_CHECK(in > 0 && out > 0 && k.h > 0 && k.w > 0, "Conv2d: sizes must be positive, got in=", in, " out=", out,
               " kernel=", k.h, "x", k.w);
  MINIDL_CHECK(g > 0 && in % g == 0 && out % g == 0, "Conv2d: groups=", g, " must divide in_channels=", in,
               " and out_channels=", out);
  const int64_t fan_in = in / g * k.h * k.w;
  weight = empty({out, in / g, k.h, k.w});
  init::default_uniform_(weight, fan_in);
  weight = register_parameter("weight", weight);
  if (o.bias()) {
    bias = empty({out});
    init::default_uniform_(bias, fan_in);
    bias = register_parameter("bias", bias);
  }
}

Tensor Conv2dImpl::forward(const Tensor& x) {
  if (!options_.standardize()) return ops::conv2d(x, weight, bias, options_.func());
  const int64_t out = options_.out_channels();
  const Tensor as_groups = ops::reshape(weight, {1, out, weight.numel() / out, 1});
  const Tensor w_hat = ops::reshape(ops::group_norm(as_groups, out, Tensor(), Tensor(), 1e-5), weight.shape().dims());
  return ops::conv2d(x, w_hat, bias, options_.func());
}

ReceptiveField Conv2dImpl::receptive_field(ReceptiveField in, const Shape&) const {
  return {in.size + (options_.kernel_size().h - 1) * in.jump, in.jump * options_.stride().h};
}

std::string Conv2dImpl::extra_repr() const {
  const auto& o = options_;
  std::string s = minidl::str(o.in_channels(), ", ", o.out_channels(), ", kernel_size=", o.kernel_size());
  if (o.stride() != Size2(1)) s += minidl::str(", stride=", o.stride());
  if (o.padding() != Size2(0)) s += minidl::str(", padding=", o.padding());
  if (o.groups() != 1) s += minidl::str(", groups=", o.groups());
  if (!o.bias()) s += ", bias=False";
  if (o.standardize()) s += ", weight_standardization=True";
  return s;
}

}  // namespace minidl::nn

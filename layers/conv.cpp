#include "layers/conv.h"

#include "kernels/norm.h"
#include "kernels/view.h"
#include "layers/init.h"

namespace minidl::nn {

Conv2d::Conv2d(const Conv2dOptions& o) : options_(o) {
  const int64_t g = o.geometry.group_count;
  MINIDL_CHECK(o.in > 0 && o.out > 0 && o.kernel_h > 0 && o.kernel_w > 0, "Conv2d: sizes must be positive, got in=",
               o.in, " out=", o.out, " kernel=", o.kernel_h, "x", o.kernel_w);
  MINIDL_CHECK(g > 0 && o.in % g == 0 && o.out % g == 0, "Conv2d: groups=", g, " must divide in_channels=", o.in,
               " and out_channels=", o.out);
  const int64_t fan_in = o.in / g * o.kernel_h * o.kernel_w;
  weight = empty({o.out, o.in / g, o.kernel_h, o.kernel_w});
  init::default_uniform_(weight, fan_in);
  weight = register_parameter("weight", weight);
  if (o.with_bias) {
    bias = empty({o.out});
    init::default_uniform_(bias, fan_in);
    bias = register_parameter("bias", bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  if (!options_.standardize_weight) return ops::conv2d(x, weight, bias, options_.geometry);
  const Tensor as_groups = ops::reshape(weight, {1, options_.out, weight.numel() / options_.out, 1});
  const Tensor w_hat = ops::reshape(ops::group_norm(as_groups, options_.out, Tensor(), Tensor(), 1e-5), weight.shape().dims());
  return ops::conv2d(x, w_hat, bias, options_.geometry);
}

ReceptiveField Conv2d::receptive_field(ReceptiveField in, const Shape&) const {
  return {in.size + (options_.kernel_h - 1) * in.jump, in.jump * options_.geometry.stride_h};
}

std::string Conv2d::extra_repr() const {
  const auto& o = options_;
  const auto& g = o.geometry;
  std::string s = minidl::str(o.in, ", ", o.out, ", kernel_size=(", o.kernel_h, ", ", o.kernel_w, ")");
  if (g.stride_h != 1 || g.stride_w != 1) s += minidl::str(", stride=(", g.stride_h, ", ", g.stride_w, ")");
  if (g.pad_h != 0 || g.pad_w != 0) s += minidl::str(", padding=(", g.pad_h, ", ", g.pad_w, ")");
  if (g.group_count != 1) s += minidl::str(", groups=", g.group_count);
  if (!o.with_bias) s += ", bias=False";
  if (o.standardize_weight) s += ", weight_standardization=True";
  return s;
}

}  // namespace minidl::nn

// nn::Conv2d: a convolution layer owning its weight [out, in/groups, kh, kw] and optional bias [out].
//   nn::Conv2d(nn::Conv2dOptions(3, 16, 3).padding(1).bias(false))
// (nn::Conv2dOptions describes the layer; minidl::Conv2dOptions, inside it, the functional geometry.)
#pragma once
#include <cstdint>

#include "kernels/conv.h"
#include "layers/module.h"

namespace minidl::nn {

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in(in_channels), out(out_channels), kernel_h(kernel_size), kernel_w(kernel_size) {}
  Conv2dOptions& kernel(int64_t kh, int64_t kw) { kernel_h = kh, kernel_w = kw; return *this; }
  Conv2dOptions& stride(int64_t s) { geometry.stride(s); return *this; }
  Conv2dOptions& padding(int64_t p) { geometry.padding(p); return *this; }
  Conv2dOptions& groups(int64_t g) { geometry.groups(g); return *this; }
  Conv2dOptions& bias(bool b) { with_bias = b; return *this; }
  // Weight Standardization (Qiao et al. 2019): the convolution uses, for each output channel o,
  //   w_hat[o] = (w[o] - mean(w[o])) / sqrt(var(w[o]) + 1e-5)      (over in/groups x kh x kw)
  // instead of w, so every filter has zero mean and unit variance. It smooths the loss landscape
  // the way batch norm's statistics do, which batch-independent norms (group, layer) lack.
  // Computed with ops::group_norm on the weight viewed as [1, out, in/groups * kh * kw, 1], so its
  // gradient comes from the tested norm backward. No extra parameters.
  Conv2dOptions& standardize(bool s) { standardize_weight = s; return *this; }

  int64_t in, out, kernel_h, kernel_w;
  minidl::Conv2dOptions geometry;
  bool with_bias = true;
  bool standardize_weight = false;
};

class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

  const Conv2dOptions& options() const { return options_; }
  Tensor weight, bias;  // bias undefined when options.bias(false)

 private:
  Conv2dOptions options_;
};

}  // namespace minidl::nn

// nn::Conv2d: a convolution layer owning its weight [out, in/groups, kh, kw] and optional bias [out].
//   nn::Conv2d conv(nn::Conv2dOptions(3, 16, 3).padding(1).bias(false));   Tensor y = conv(x);
// (nn::Conv2dOptions describes the layer; ops::Conv2dFuncOptions, which func() returns, is the
// geometry the functional ops::conv2d takes.)
#pragma once
#include <cstdint>

#include "core/options.h"
#include "kernels/conv.h"
#include "layers/module.h"

namespace minidl::nn {

class Conv2dOptions {
 public:
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  MINIDL_ARG(int64_t, in_channels, 0)
  MINIDL_ARG(int64_t, out_channels, 0)
  MINIDL_ARG(Size2, kernel_size, 1)
  MINIDL_ARG(Size2, stride, 1)
  MINIDL_ARG(Size2, padding, 0)
  MINIDL_ARG(int64_t, groups, 1)
  MINIDL_ARG(bool, bias, true)
  // Weight Standardization (Qiao et al. 2019): the convolution uses, for each output channel o,
  //   w_hat[o] = (w[o] - mean(w[o])) / sqrt(var(w[o]) + 1e-5)      (over in/groups x kh x kw)
  // instead of w, so every filter has zero mean and unit variance. It smooths the loss landscape
  // the way batch norm's statistics do, which batch-independent norms (group, layer) lack.
  // Computed with ops::group_norm on the weight viewed as [1, out, in/groups * kh * kw, 1], so its
  // gradient comes from the tested norm backward. No extra parameters.
  MINIDL_ARG(bool, standardize, false)

 public:
  // The geometry, as ops::conv2d takes it.
  ops::Conv2dFuncOptions func() const {
    return ops::Conv2dFuncOptions().stride(stride_).padding(padding_).groups(groups_);
  }
};

class Conv2dImpl : public Module {
 public:
  explicit Conv2dImpl(const Conv2dOptions& options);
  // Like libtorch: in, out, kernel size, and the defaults for the rest.
  Conv2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

  const Conv2dOptions& options() const { return options_; }
  Tensor weight, bias;  // bias undefined when options.bias(false)

 private:
  Conv2dOptions options_;
};
MINIDL_MODULE(Conv2d);

}  // namespace minidl::nn

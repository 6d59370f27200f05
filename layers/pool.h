// Pooling layers.
#pragma once
#include "kernels/pool.h"
#include "layers/module.h"

namespace minidl::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dOptions options) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::max_pool2d(x, options_); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

 private:
  Pool2dOptions options_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Pool2dOptions options) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::avg_pool2d(x, options_); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

 private:
  Pool2dOptions options_;
};

// Averages to a fixed output size; (1, 1) is global average pooling.
class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w) : out_h_(out_h), out_w_(out_w) {}
  explicit AdaptiveAvgPool2d(int64_t out) : AdaptiveAvgPool2d(out, out) {}
  Tensor forward(const Tensor& x) override { return ops::adaptive_avg_pool2d(x, out_h_, out_w_); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override { return minidl::str("output_size=(", out_h_, ", ", out_w_, ")"); }
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

 private:
  int64_t out_h_, out_w_;
};

}  // namespace minidl::nn

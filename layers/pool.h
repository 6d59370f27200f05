// Pooling layers.
//   nn::MaxPool2d pool(2);   nn::MaxPool2d pool3(nn::MaxPool2dOptions(3).stride(2).padding(1));
//   nn::AdaptiveAvgPool2d gap(1);   (global average pooling)
#pragma once
#include "core/options.h"
#include "kernels/pool.h"
#include "layers/module.h"

namespace minidl::nn {

// The window: its size, stride (the size unless set) and padding, as the functional ops take it.
using MaxPool2dOptions = ops::Pool2dFuncOptions;
using AvgPool2dOptions = ops::Pool2dFuncOptions;

class MaxPool2dImpl : public Module {
 public:
  explicit MaxPool2dImpl(const MaxPool2dOptions& options) : options_(options) {}
  explicit MaxPool2dImpl(Size2 kernel_size) : MaxPool2dImpl(MaxPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& x) override { return ops::max_pool2d(x, options_); }
  std::string extra_repr() const override;
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

 private:
  MaxPool2dOptions options_;
};
MINIDL_MODULE(MaxPool2d);

class AvgPool2dImpl : public Module {
 public:
  explicit AvgPool2dImpl(const AvgPool2dOptions& options) : options_(options) {}
  explicit AvgPool2dImpl(Size2 kernel_size) : AvgPool2dImpl(AvgPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& x) override { return ops::avg_pool2d(x, options_); }
  std::string extra_repr() const override;
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

 private:
  AvgPool2dOptions options_;
};
MINIDL_MODULE(AvgPool2d);

class AdaptiveAvgPool2dOptions {
 public:
  AdaptiveAvgPool2dOptions(Size2 output_size) : output_size_(output_size) {}  // NOLINT: implicit, as 1 reads
  MINIDL_ARG(Size2, output_size, 1)
};

// Averages to a fixed output size; (1, 1) is global average pooling.
class AdaptiveAvgPool2dImpl : public Module {
 public:
  explicit AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& options) : options_(options) {}
  explicit AdaptiveAvgPool2dImpl(Size2 output_size) : options_(output_size) {}
  Tensor forward(const Tensor& x) override { return ops::adaptive_avg_pool2d(x, options_.output_size()); }
  std::string extra_repr() const override { return minidl::str("output_size=", options_.output_size()); }
  ReceptiveField receptive_field(ReceptiveField in, const Shape& input_shape) const override;

 private:
  AdaptiveAvgPool2dOptions options_;
};
MINIDL_MODULE(AdaptiveAvgPool2d);

}  // namespace minidl::nn

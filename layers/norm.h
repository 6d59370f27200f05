// Normalization layers: BatchNorm2d, GroupNorm, LayerNorm, and the factory the model zoo uses.
//   nn::BatchNorm2d bn(nn::BatchNorm2dOptions(64).momentum(0.01));   nn::BatchNorm2d bn2(64);
//   nn::GroupNorm gn(nn::GroupNormOptions(4, 64).eps(1e-6));        nn::LayerNorm ln(nn::LayerNormOptions({10}));
//
// All three of the zoo's norms have an affine scale and shift PER CHANNEL (2*C parameters), which
// is why a model has the same parameter count with each of them. Only batch norm keeps running
// statistics, and they are buffers (state, not trained), not parameters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/options.h"
#include "layers/module.h"

namespace minidl::nn {

// PyTorch's defaults: eps 1e-5, momentum 0.1 (the weight of the new batch), affine.
class BatchNorm2dOptions {
 public:
  explicit BatchNorm2dOptions(int64_t num_features) : num_features_(num_features) {}
  MINIDL_ARG(int64_t, num_features, 0)
  MINIDL_ARG(double, eps, 1e-5)
  MINIDL_ARG(double, momentum, 0.1)
  MINIDL_ARG(bool, affine, true)
};

class BatchNorm2dImpl : public Module {
 public:
  explicit BatchNorm2dImpl(const BatchNorm2dOptions& options);
  explicit BatchNorm2dImpl(int64_t num_features) : BatchNorm2dImpl(BatchNorm2dOptions(num_features)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const BatchNorm2dOptions& options() const { return options_; }

  Tensor weight, bias;               // parameters [C] (undefined without affine)
  Tensor running_mean, running_var;  // buffers [C]

 private:
  BatchNorm2dOptions options_;
};
MINIDL_MODULE(BatchNorm2d);

class GroupNormOptions {
 public:
  GroupNormOptions(int64_t num_groups, int64_t num_channels) : num_groups_(num_groups), num_channels_(num_channels) {}
  MINIDL_ARG(int64_t, num_groups, 1)
  MINIDL_ARG(int64_t, num_channels, 0)
  MINIDL_ARG(double, eps, 1e-5)
  MINIDL_ARG(bool, affine, true)
};

class GroupNormImpl : public Module {
 public:
  explicit GroupNormImpl(const GroupNormOptions& options);
  GroupNormImpl(int64_t num_groups, int64_t num_channels) : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const GroupNormOptions& options() const { return options_; }

  Tensor weight, bias;  // [C]

 private:
  GroupNormOptions options_;
};
MINIDL_MODULE(GroupNorm);

class LayerNormOptions {
 public:
  explicit LayerNormOptions(std::vector<int64_t> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  MINIDL_ARG(std::vector<int64_t>, normalized_shape, {})
  MINIDL_ARG(double, eps, 1e-5)
  MINIDL_ARG(bool, elementwise_affine, true)
};

// PyTorch's LayerNorm: normalizes over the trailing dims normalized_shape, with an elementwise
// affine of that shape. (The reference CNNs' "layer norm" is GroupNorm with one group instead:
// see make_norm.)
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const LayerNormOptions& options() const { return options_; }

  Tensor weight, bias;

 private:
  LayerNormOptions options_;
};
MINIDL_MODULE(LayerNorm);

enum class NormKind { Batch, Group, Layer };
NormKind parse_norm_kind(const std::string& s);  // "batch" | "group" | "layer"
const char* norm_kind_name(NormKind k);

// The zoo's norm factory: batch -> BatchNorm2d(C); group -> GroupNorm(groups, C);
// layer -> GroupNorm(1, C) (normalize each sample over all channels and positions, 2*C params).
AnyModule make_norm(NormKind kind, int64_t channels, int64_t groups);

}  // namespace minidl::nn

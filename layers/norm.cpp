#include "layers/norm.h"

#include "kernels/norm.h"

namespace minidl::nn {

BatchNorm2dImpl::BatchNorm2dImpl(const BatchNorm2dOptions& o) : options_(o) {
  const int64_t c = o.num_features();
  MINIDL_CHECK(c > 0, "BatchNorm2d: num_features must be positive, got ", c);
  if (o.affine()) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  running_mean = register_buffer("running_mean", zeros({c}));
  running_var = register_buffer("running_var", ones({c}));
}

Tensor BatchNorm2dImpl::forward(const Tensor& x) {
  return ops::batch_norm(x, running_mean, running_var, weight, bias, training_, options_.momentum(), options_.eps());
}

std::string BatchNorm2dImpl::extra_repr() const {
  return minidl::str(options_.num_features(), ", eps=", options_.eps(), ", momentum=", options_.momentum(),
                     ", affine=", weight.defined() ? "True" : "False");
}

GroupNormImpl::GroupNormImpl(const GroupNormOptions& o) : options_(o) {
  const int64_t groups = o.num_groups(), c = o.num_channels();
  MINIDL_CHECK(groups > 0 && c > 0 && c % groups == 0, "GroupNorm: num_groups=", groups,
               " must divide num_channels=", c);
  if (o.affine()) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  return ops::group_norm(x, options_.num_groups(), weight, bias, options_.eps());
}

std::string GroupNormImpl::extra_repr() const {
  return minidl::str(options_.num_groups(), ", ", options_.num_channels(), ", eps=", options_.eps(),
                     ", affine=", weight.defined() ? "True" : "False");
}

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : options_(o) {
  MINIDL_CHECK(!o.normalized_shape().empty(), "LayerNorm: normalized_shape must not be empty");
  if (o.elementwise_affine()) {
    weight = register_parameter("weight", ones(Shape(o.normalized_shape())));
    bias = register_parameter("bias", zeros(Shape(o.normalized_shape())));
  }
}

Tensor LayerNormImpl::forward(const Tensor& x) {
  return ops::layer_norm(x, options_.normalized_shape(), weight, bias, options_.eps());
}

std::string LayerNormImpl::extra_repr() const {
  return minidl::str(Shape(options_.normalized_shape()), ", eps=", options_.eps(),
                     ", elementwise_affine=", weight.defined() ? "True" : "False");
}

NormKind parse_norm_kind(const std::string& s) {
  if (s == "batch") return NormKind::Batch;
  if (s == "group") return NormKind::Group;
  if (s == "layer") return NormKind::Layer;
  MINIDL_FAIL("unknown norm '", s, "': expected batch, group or layer");
}

const char* norm_kind_name(NormKind k) {
  switch (k) {
    case NormKind::Batch: return "batch";
    case NormKind::Group: return "group";
    case NormKind::Layer: return "layer";
  }
  return "?";
}

AnyModule make_norm(NormKind kind, int64_t channels, int64_t groups) {
  switch (kind) {
    case NormKind::Batch: return BatchNorm2d(channels);
    case NormKind::Group:
      MINIDL_CHECK(groups > 0 && channels % groups == 0, "group norm: ", groups, " groups do not divide ", channels,
                   " channels; pick a group count that divides every layer width");
      return GroupNorm(groups, channels);
    case NormKind::Layer: return GroupNorm(1, channels);
  }
  MINIDL_FAIL("make_norm: unknown norm kind");
}

}  // namespace minidl::nn

#include "layers/norm.h"

#include "kernels/norm.h"

namespace minidl::nn {

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps, double momentum, bool affine)
    : c_(num_features), eps_(eps), momentum_(momentum) {
  MINIDL_CHECK(c_ > 0, "BatchNorm2d: num_features must be positive, got ", c_);
  if (affine) {
    weight = register_parameter("weight", ones({c_}));
    bias = register_parameter("bias", zeros({c_}));
  }
  running_mean = register_buffer("running_mean", zeros({c_}));
  running_var = register_buffer("running_var", ones({c_}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return ops::batch_norm(x, running_mean, running_var, weight, bias, training_, momentum_, eps_);
}

std::string BatchNorm2d::extra_repr() const {
  return minidl::str(c_, ", eps=", eps_, ", momentum=", momentum_, ", affine=", weight.defined() ? "True" : "False");
}

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, double eps, bool affine)
    : groups_(num_groups), c_(num_channels), eps_(eps) {
  MINIDL_CHECK(groups_ > 0 && c_ > 0 && c_ % groups_ == 0, "GroupNorm: num_groups=", groups_,
               " must divide num_channels=", c_);
  if (affine) {
    weight = register_parameter("weight", ones({c_}));
    bias = register_parameter("bias", zeros({c_}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) { return ops::group_norm(x, groups_, weight, bias, eps_); }

std::string GroupNorm::extra_repr() const {
  return minidl::str(groups_, ", ", c_, ", eps=", eps_, ", affine=", weight.defined() ? "True" : "False");
}

LayerNorm::LayerNorm(std::vector<int64_t> normalized_shape, double eps, bool elementwise_affine)
    : shape_(std::move(normalized_shape)), eps_(eps) {
  MINIDL_CHECK(!shape_.empty(), "LayerNorm: normalized_shape must not be empty");
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(Shape(shape_)));
    bias = register_parameter("bias", zeros(Shape(shape_)));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return ops::layer_norm(x, shape_, weight, bias, eps_); }

std::string LayerNorm::extra_repr() const {
  return minidl::str(Shape(shape_), ", eps=", eps_, ", elementwise_affine=", weight.defined() ? "True" : "False");
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

std::shared_ptr<Module> make_norm(NormKind kind, int64_t channels, int64_t groups) {
  switch (kind) {
    case NormKind::Batch: return std::make_shared<BatchNorm2d>(channels);
    case NormKind::Group:
      MINIDL_CHECK(groups > 0 && channels % groups == 0, "group norm: ", groups, " groups do not divide ", channels,
                   " channels; pick a group count that divides every layer width");
      return std::make_shared<GroupNorm>(groups, channels);
    case NormKind::Layer: return std::make_shared<GroupNorm>(1, channels);
  }
  MINIDL_FAIL("make_norm: unknown norm kind");
}

}  // namespace minidl::nn

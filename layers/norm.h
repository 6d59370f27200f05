// Normalization layers: BatchNorm2d, GroupNorm, LayerNorm, and the factory the model zoo uses.
//
// All three of the zoo's norms have an affine scale and shift PER CHANNEL (2*C parameters), which
// is why a model has the same parameter count with each of them. Only batch norm keeps running
// statistics, and they are buffers (state, not trained), not parameters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "layers/module.h"

namespace minidl::nn {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;

  Tensor weight, bias;                      // parameters [C] (undefined without affine)
  Tensor running_mean, running_var;         // buffers [C]

 private:
  int64_t c_;
  double eps_, momentum_;
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;

  Tensor weight, bias;  // [C]

 private:
  int64_t groups_, c_;
  double eps_;
};

// PyTorch's LayerNorm: normalizes over the trailing dims normalized_shape, with an elementwise
// affine of that shape. (The reference CNNs' "layer norm" is GroupNorm with one group instead:
// see make_norm.)
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::vector<int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Tensor weight, bias;

 private:
  std::vector<int64_t> shape_;
  double eps_;
};

enum class NormKind { Batch, Group, Layer };
NormKind parse_norm_kind(const std::string& s);  // "batch" | "group" | "layer"
const char* norm_kind_name(NormKind k);

// The zoo's norm factory: batch -> BatchNorm2d(C); group -> GroupNorm(groups, C);
// layer -> GroupNorm(1, C) (normalize each sample over all channels and positions, 2*C params).
std::shared_ptr<Module> make_norm(NormKind kind, int64_t channels, int64_t groups);

}  // namespace minidl::nn

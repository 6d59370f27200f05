// The model zoo: the CIFAR-10 models of the reference projects (exact architectures and parameter
// counts from their published summaries) plus minidl's own, each buildable with batch, group or
// layer normalization.
//
//   auto model = models::make_model("skipnet48k", models::ModelOptions().norm(nn::NormKind::Group));
//   Tensor logp = model(images);
//
// Group norm needs a group count that divides every normalized width; each model has a default
// (ModelInfo::default_groups), overridable through ModelOptions::groups.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/options.h"
#include "layers/module.h"
#include "layers/norm.h"

namespace minidl::models {

class ModelOptions {
 public:
  // Implicit, so make_model("skipnet48k", nn::NormKind::Group) reads well.
  ModelOptions(nn::NormKind norm = nn::NormKind::Batch) : norm_(norm) {}  // NOLINT
  MINIDL_ARG(nn::NormKind, norm, nn::NormKind::Batch)
  MINIDL_ARG(int64_t, groups, 0)     // group norm's group count; 0 = the model's default
  MINIDL_ARG(double, dropout, -1.0)  // dropout probability; negative = the model's default
  // Weight-standardized convolutions (nn::Conv2dOptions::standardize); only the models whose
  // builder reads it (minidl50k) use it.
  MINIDL_ARG(bool, weight_standardization, false)
  // resnet9's first width (64 as published; every later layer keeps its multiple of it: 2x, 4x,
  // 8x). 0 = the published width. A narrower ResNet-9 trains in minutes on a CPU, and it is what
  // the PyTorch parity test runs (tests/test_train_parity.cpp). Other models refuse it.
  MINIDL_ARG(int64_t, width, 0)
};

struct ModelInfo {
  std::string name;
  std::string description;
  int64_t default_groups;
  double default_dropout;
  std::vector<int64_t> norm_widths;  // channel counts of the normalized layers
  std::shared_ptr<nn::Module> (*build)(const ModelOptions& resolved);
};

const std::vector<ModelInfo>& model_zoo();
const ModelInfo& model_info(const std::string& name);  // throws, listing the known names
std::vector<std::string> model_names();
// Resolves the defaults, checks the group count against the model's widths, builds the model.
// A holder: model(images), model->parameters().
nn::AnyModule make_model(const std::string& name, ModelOptions options = {});

// Builders (options already resolved: groups > 0, dropout >= 0).
std::shared_ptr<nn::Module> skipnet48k(const ModelOptions& o);
std::shared_ptr<nn::Module> convnet39k(const ModelOptions& o);
std::shared_ptr<nn::Module> gapnet39k(const ModelOptions& o);
std::shared_ptr<nn::Module> c10net48k(const ModelOptions& o);
std::shared_ptr<nn::Module> resnet9(const ModelOptions& o);
std::shared_ptr<nn::Module> minidl50k(const ModelOptions& o);

}  // namespace minidl::models

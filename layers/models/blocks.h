// Short builders the model files share, so each architecture reads like its summary table.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/models/zoo.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "layers/sequential.h"

namespace minidl::models::blocks {

using ModulePtr = std::shared_ptr<nn::Module>;

inline ModulePtr conv(int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias = false, int64_t stride = 1) {
  return std::make_shared<nn::Conv2d>(nn::Conv2dOptions(in, out, kernel).padding(padding).stride(stride).bias(bias));
}
inline ModulePtr norm(const ModelOptions& o, int64_t channels) { return nn::make_norm(o.norm, channels, o.groups); }
inline ModulePtr relu() { return std::make_shared<nn::ReLU>(); }
inline ModulePtr maxpool(int64_t k) { return std::make_shared<nn::MaxPool2d>(Pool2dOptions(k)); }
inline ModulePtr avgpool(int64_t k) { return std::make_shared<nn::AvgPool2d>(Pool2dOptions(k)); }
inline ModulePtr dropout(double p) { return std::make_shared<nn::Dropout>(p); }
inline ModulePtr dropout2d(double p) { return std::make_shared<nn::Dropout2d>(p); }
inline ModulePtr flatten() { return std::make_shared<nn::Flatten>(); }
inline ModulePtr log_softmax() { return std::make_shared<nn::LogSoftmax>(1); }
inline std::shared_ptr<nn::Sequential> seq(std::initializer_list<ModulePtr> modules) {
  return std::make_shared<nn::Sequential>(modules);
}
// Appends modules to an existing Sequential.
inline void append(nn::Sequential& s, std::initializer_list<ModulePtr> modules) {
  for (const auto& m : modules) s.push_back(m);
}

}  // namespace minidl::models::blocks

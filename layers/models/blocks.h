// Short builders the model files share, so each architecture reads like its summary table.
// Each returns the layer as an nn::AnyModule (any module, callable: block(x)).
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

using nn::AnyModule;

inline AnyModule conv(int64_t in, int64_t out, int64_t kernel, int64_t padding, bool bias = false, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(padding).stride(stride).bias(bias));
}
inline AnyModule norm(const ModelOptions& o, int64_t channels) { return nn::make_norm(o.norm(), channels, o.groups()); }
inline AnyModule relu() { return nn::ReLU(); }
inline AnyModule maxpool(int64_t k) { return nn::MaxPool2d(k); }
inline AnyModule avgpool(int64_t k) { return nn::AvgPool2d(k); }
inline AnyModule dropout(double p) { return nn::Dropout(p); }
inline AnyModule dropout2d(double p) { return nn::Dropout2d(p); }
inline AnyModule flatten() { return nn::Flatten(); }
inline AnyModule log_softmax() { return nn::LogSoftmax(1); }
// A Sequential of the modules, constructed in the order given (the order their weights are drawn).
inline nn::Sequential seq(std::initializer_list<AnyModule> modules) {
  return nn::Sequential(std::make_shared<nn::SequentialImpl>(modules));
}
// Appends modules to an existing Sequential.
inline void append(const nn::Sequential& s, std::initializer_list<AnyModule> modules) {
  for (const AnyModule& m : modules) s->push_back(m);
}

}  // namespace minidl::models::blocks

// Parameter-free layers: ReLU, SiLU, LogSoftmax, Flatten, Identity.
//   nn::ReLU relu;   nn::LogSoftmax(1);   nn::Flatten flat(nn::FlattenOptions().start_dim(1));
#pragma once
#include <cstdint>

#include "core/options.h"
#include "kernels/elementwise.h"
#include "kernels/softmax.h"
#include "kernels/view.h"
#include "layers/module.h"

namespace minidl::nn {

class ReLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
};
MINIDL_MODULE(ReLU);

class SiLUImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::silu(x); }
};
MINIDL_MODULE(SiLU);

class LogSoftmaxOptions {
 public:
  LogSoftmaxOptions(int64_t dim) : dim_(dim) {}  // NOLINT: implicit, so LogSoftmax(1) reads well
  MINIDL_ARG(int64_t, dim, 1)
};

class LogSoftmaxImpl : public Module {
 public:
  explicit LogSoftmaxImpl(const LogSoftmaxOptions& options) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::log_softmax(x, options_.dim()); }
  std::string extra_repr() const override { return minidl::str("dim=", options_.dim()); }

 private:
  LogSoftmaxOptions options_;
};
MINIDL_MODULE(LogSoftmax);

// Merges dims start_dim..end_dim (by default everything after the batch: [N, C, H, W] -> [N, CHW]).
class FlattenOptions {
  MINIDL_ARG(int64_t, start_dim, 1)
  MINIDL_ARG(int64_t, end_dim, -1)
};

class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::flatten(x, options_.start_dim(), options_.end_dim()); }
  std::string extra_repr() const override {
    return minidl::str("start_dim=", options_.start_dim(), ", end_dim=", options_.end_dim());
  }

 private:
  FlattenOptions options_;
};
MINIDL_MODULE(Flatten);

class IdentityImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
};
MINIDL_MODULE(Identity);

}  // namespace minidl::nn

// Activations and other parameter-free layers: ReLU, SiLU, Sigmoid, Tanh, GELU, LeakyReLU, ELU,
// Softplus, Hardswish, Mish, LogSoftmax, Flatten, Identity.
//   nn::ReLU relu;   nn::GELU gelu(nn::GELUOptions().approximate("tanh"));   nn::LeakyReLU lrelu(0.2);
//   nn::LogSoftmax(1);   nn::Flatten flat(nn::FlattenOptions().start_dim(1));
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/options.h"
#include "kernels/elementwise.h"
#include "kernels/softmax.h"
#include "kernels/unary.h"
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

// The activations over kernels/unary.h, named and defaulted as torch.nn's: Sigmoid, Tanh, Hardswish, Mish,
// GELU(approximate "none" | "tanh"), LeakyReLU(negative_slope 0.01), ELU(alpha 1),
// Softplus(beta 1, threshold 20).
class SigmoidImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::sigmoid(x); }
};
MINIDL_MODULE(Sigmoid);

class TanhImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::tanh(x); }
};
MINIDL_MODULE(Tanh);

class HardswishImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::hardswish(x); }
};
MINIDL_MODULE(Hardswish);

class MishImpl : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::mish(x); }
};
MINIDL_MODULE(Mish);

class GELUOptions {
  MINIDL_ARG(std::string, approximate, "none")
};
class GELUImpl : public Module {
 public:
  explicit GELUImpl(const GELUOptions& options = {}) : options_(options) {
    MINIDL_CHECK(options_.approximate() == "none" || options_.approximate() == "tanh",
                 "GELU: approximate must be 'none' or 'tanh' (as in PyTorch), got '", options_.approximate(), "'");
  }
  Tensor forward(const Tensor& x) override { return ops::gelu(x, options_.approximate()); }
  std::string extra_repr() const override { return "approximate='" + options_.approximate() + "'"; }

 private:
  GELUOptions options_;
};
MINIDL_MODULE(GELU);

class LeakyReLUOptions {
 public:
  LeakyReLUOptions(double negative_slope = 0.01) : negative_slope_(negative_slope) {}  // NOLINT: LeakyReLU(0.2)
  MINIDL_ARG(double, negative_slope, 0.01)
};
class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(const LeakyReLUOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::leaky_relu(x, options_.negative_slope()); }
  std::string extra_repr() const override { return minidl::str("negative_slope=", options_.negative_slope()); }

 private:
  LeakyReLUOptions options_;
};
MINIDL_MODULE(LeakyReLU);

class ELUOptions {
 public:
  ELUOptions(double alpha = 1.0) : alpha_(alpha) {}  // NOLINT: ELU(0.5)
  MINIDL_ARG(double, alpha, 1.0)
};
class ELUImpl : public Module {
 public:
  explicit ELUImpl(const ELUOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::elu(x, options_.alpha()); }
  std::string extra_repr() const override { return minidl::str("alpha=", options_.alpha()); }

 private:
  ELUOptions options_;
};
MINIDL_MODULE(ELU);

class SoftplusOptions {
  MINIDL_ARG(double, beta, 1.0)
  MINIDL_ARG(double, threshold, 20.0)
};
class SoftplusImpl : public Module {
 public:
  explicit SoftplusImpl(const SoftplusOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override { return ops::softplus(x, options_.beta(), options_.threshold()); }
  std::string extra_repr() const override {
    return minidl::str("beta=", options_.beta(), ", threshold=", options_.threshold());
  }

 private:
  SoftplusOptions options_;
};
MINIDL_MODULE(Softplus);

}  // namespace minidl::nn

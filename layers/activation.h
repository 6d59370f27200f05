// Parameter-free layers: ReLU, LogSoftmax, Flatten, Identity.
#pragma once
#include <cstdint>

#include "kernels/elementwise.h"
#include "kernels/softmax.h"
#include "kernels/view.h"
#include "layers/module.h"

namespace minidl::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return ops::relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim = 1) : dim_(dim) {}
  Tensor forward(const Tensor& x) override { return ops::log_softmax(x, dim_); }
  std::string type_name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return minidl::str("dim=", dim_); }

 private:
  int64_t dim_;
};

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override { return ops::flatten(x, start_, end_); }
  std::string type_name() const override { return "Flatten"; }
  std::string extra_repr() const override { return minidl::str("start_dim=", start_, ", end_dim=", end_); }

 private:
  int64_t start_, end_;
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Identity"; }
};

}  // namespace minidl::nn

// nn::Linear: y = x W^T + b with W [out, in], b [out] (optional).
//   nn::Linear fc(80, 10);   nn::Linear fc2(nn::LinearOptions(80, 10).bias(false));
#pragma once
#include <cstdint>

#include "core/options.h"
#include "layers/module.h"

namespace minidl::nn {

class LinearOptions {
 public:
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  MINIDL_ARG(int64_t, in_features, 0)
  MINIDL_ARG(int64_t, out_features, 0)
  MINIDL_ARG(bool, bias, true)
};

class LinearImpl : public Module {
 public:
  explicit LinearImpl(const LinearOptions& options);
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(LinearOptions(in_features, out_features)) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const LinearOptions& options() const { return options_; }

  Tensor weight, bias;

 private:
  LinearOptions options_;
};
MINIDL_MODULE(Linear);

}  // namespace minidl::nn

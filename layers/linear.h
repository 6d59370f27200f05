// nn::Linear: y = x W^T + b with W [out, in], b [out] (optional).
#pragma once
#include <cstdint>

#include "layers/module.h"

namespace minidl::nn {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool with_bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  Tensor weight, bias;

 private:
  int64_t in_, out_;
};

}  // namespace minidl::nn

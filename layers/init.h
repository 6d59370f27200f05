// Parameter initialization, matching PyTorch's defaults so recipes carry over:
// Conv2d / Linear weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what PyTorch's
// kaiming_uniform_(a=sqrt(5)) works out to), norm weights 1 and biases 0.
#pragma once
#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace minidl::nn::init {

// Fills t (in place) with U(-bound, bound) drawn from gen (default_generator() when null).
void uniform_(Tensor& t, double bound, Generator* gen = nullptr);
// PyTorch's default for conv / linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void default_uniform_(Tensor& t, int64_t fan_in, Generator* gen = nullptr);

}  // namespace minidl::nn::init

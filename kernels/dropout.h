// Inverted dropout: in training, zero each element (dropout) or each whole channel (dropout2d)
// with probability p and scale the survivors by 1 / (1 - p); identity in eval.
#pragma once
#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace minidl::ops {

// gen defaults to default_generator(). The mask is a pure function of (seed, offset, index)
// (core/philox.h), identical on CPU and CUDA.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);
// x [N, C, *]: one draw per (n, c) channel.
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace minidl::ops

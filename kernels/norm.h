// Normalization: batch_norm, group_norm, layer_norm (PyTorch's semantics and argument order).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace minidl::ops {

// x [N, C, *]. Training: normalize each channel with the batch's mean and biased variance over
// (N, *); when running_mean / running_var are given, update them in place:
//   running = (1 - momentum) * running + momentum * batch_stat  (running_var gets the UNBIASED variance)
// Eval (training = false): normalize with running_mean / running_var (required).
// weight (gamma) / bias (beta) [C] or undefined (no affine).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// x [N, C, *]: C split into num_groups groups; each (sample, group) is normalized over its C/G
// channels and all positions; then per-channel affine weight / bias [C] (or undefined).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

// Normalizes over the trailing dims given by normalized_shape (x.shape ends with it); weight /
// bias have shape normalized_shape (elementwise affine) or are undefined.
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace minidl::ops

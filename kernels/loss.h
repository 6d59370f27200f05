// Classification losses with mean reduction over the batch (PyTorch's defaults).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl::ops {

// log_probs [N, C] (e.g. from log_softmax), target int64 [N] with values in [0, C).
// loss = -(1/N) sum_n log_probs[n, target[n]]
Tensor nll_loss(const Tensor& log_probs, const Tensor& target);

// logits [N, C], target int64 [N]. With label smoothing eps the target distribution is
// (1 - eps) * onehot + eps / C (PyTorch's definition):
// loss = (1/N) sum_n [ -(1 - eps) log p[n, t_n] - (eps / C) sum_c log p[n, c] ],  p = softmax(logits)
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0);

}  // namespace minidl::ops

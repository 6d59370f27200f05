// Regression and binary losses, composed of other ops (kernels/unary.h, kernels/broadcast.h,
// kernels/reduce.h), so they run on every engine and their gradients come from autograd. Names,
// defaults and formulas are PyTorch's (torch.nn.functional); reduction is "mean" (the default),
// "sum" or "none". input and target have the same shape (target may broadcast to input where
// PyTorch allows it; weights broadcast).
//   mse_loss                   (x - y)^2
//   l1_loss                    |x - y|
//   huber_loss(delta = 1)      0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta),  d = x - y
//                              = 0.5 a^2 + delta (|d| - a), a = min(|d|, delta)   (as computed)
//   smooth_l1_loss(beta = 1)   huber_loss(delta = beta) / beta   (beta = 0: l1_loss)
//   binary_cross_entropy       -(y log x + (1 - y) log(1 - x)), each log clamped at >= -100 as in PyTorch
//   binary_cross_entropy_with_logits(pos_weight)
//                              (1 - y) x + (1 + (w - 1) y) (log(1 + e^-|x|) + max(-x, 0)),  w = pos_weight (1 when undefined)
//   kl_div(log_target = false) y (log y - x), 0 where y = 0 (x: log-probabilities);  log_target: e^y (y - x)
//                              reduction "batchmean" divides the sum by the batch size (x.size(0))
#pragma once
#include <string>

#include "core/tensor.h"

namespace minidl::ops {

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean", double delta = 1.0);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                      double beta = 1.0);
// input: probabilities in [0, 1]; weight (optional) rescales each element's loss.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            const std::string& reduction = "mean");
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        const std::string& reduction = "mean", const Tensor& pos_weight = Tensor());
Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
              bool log_target = false);

}  // namespace minidl::ops

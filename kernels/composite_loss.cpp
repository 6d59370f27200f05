// The composed losses of kernels/composite_loss.h: each is a few ops, so autograd gives the
// gradient and every device runs them. The formulas are in the header.
#include "kernels/composite_loss.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/unary.h"

namespace minidl::ops {
namespace {

Tensor reduce(const char* op, const Tensor& loss, const std::string& reduction, bool batchmean = false) {
  if (reduction == "none") return loss;
  if (reduction == "sum") return sum(loss);
  if (reduction == "mean") return mean(loss);
  if (batchmean && reduction == "batchmean") return sum(loss) / static_cast<double>(loss.dim() ? loss.size(0) : 1);
  MINIDL_FAIL(op, ": reduction must be 'mean', 'sum' or 'none'", batchmean ? " (or 'batchmean')" : "", ", got '",
              reduction, "'");
}

void check_inputs(const char* op, const Tensor& input, const Tensor& target) {
  MINIDL_CHECK(input.defined() && target.defined(), op, ": input and target must be defined");
  // The loss is elementwise over input: a target must not make it bigger (PyTorch warns, we refuse).
  MINIDL_CHECK(broadcast_shapes(op, input.shape(), target.shape()) == input.shape(), op, ": target shape ",
               target.shape(), " does not fit input shape ", input.shape());
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_inputs("mse_loss", input, target);
  const Tensor d = sub(input, target);
  return reduce("mse_loss", mul(d, d), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_inputs("l1_loss", input, target);
  return reduce("l1_loss", abs(sub(input, target)), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double delta) {
  check_inputs("huber_loss", input, target);
  MINIDL_CHECK(std::isfinite(delta) && delta > 0, "huber_loss: delta must be positive, got ", delta);
  const Tensor ad = abs(sub(input, target));
  const Tensor a = clamp_max(ad, delta);
  return reduce("huber_loss", add(mul(a, a) * 0.5, (ad - a) * delta), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double beta) {
  check_inputs("smooth_l1_loss", input, target);
  MINIDL_CHECK(std::isfinite(beta) && beta >= 0, "smooth_l1_loss: beta must be >= 0, got ", beta);
  if (beta == 0) return l1_loss(input, target, reduction);
  const Tensor ad = abs(sub(input, target));
  const Tensor a = clamp_max(ad, beta);
  return reduce("smooth_l1_loss", add(mul(a, a) * (0.5 / beta), ad - a), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            const std::string& reduction) {
  check_inputs("binary_cross_entropy", input, target);
  // PyTorch clamps each log at -100, so an input of exactly 0 or 1 gives a finite loss.
  const Tensor log_x = clamp_min(log(input), -100), log_1mx = clamp_min(log(affine(input, -1, 1)), -100);
  Tensor loss = neg(add(mul(target, log_x), mul(affine(target, -1, 1), log_1mx)));
  if (weight.defined()) loss = mul(loss, weight);
  return reduce("binary_cross_entropy", loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const std::string& reduction, const Tensor& pos_weight) {
  check_inputs("binary_cross_entropy_with_logits", input, target);
  // The numerically stable form: log(1 + e^-|x|) + max(-x, 0) = log(1 + e^-x), never overflowing.
  const Tensor softplus_neg = add(log1p(exp(neg(abs(input)))), clamp_min(neg(input), 0));
  const Tensor coeff = pos_weight.defined() ? affine(mul(affine(pos_weight, 1, -1), target), 1, 1) : Tensor();
  Tensor loss = add(mul(affine(target, -1, 1), input), coeff.defined() ? mul(coeff, softplus_neg) : softplus_neg);
  if (weight.defined()) loss = mul(loss, weight);
  return reduce("binary_cross_entropy_with_logits", loss, reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
  check_inputs("kl_div", input, target);
  Tensor loss;
  if (log_target) {
    loss = mul(exp(target), sub(target, input));
  } else {
    // y log y with 0 where y = 0: y log(max(y, tiny)) is exactly 0 there.
    const double tiny = target.dtype() == DType::Float32 ? std::numeric_limits<float>::min()
                                                        : std::numeric_limits<double>::min();
    const Tensor log_y = log(clamp_min(target, tiny));
    loss = sub(mul(target, log_y), mul(target, input));
  }
  return reduce("kl_div", loss, reduction, /*batchmean=*/true);
}

}  // namespace minidl::ops

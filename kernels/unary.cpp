// Front-end of the pointwise unary ops: checks, output allocation, the CPU-or-CUDA dispatch (one
// engine per device: the reference on CPU tensors, the CUDA kernels on CUDA tensors), and the
// backward node, dx = dy * f'(x), with f' from kernels/unary_math.h. The node keeps x and y, so
// each derivative uses whichever of the two its formula needs.
#include "kernels/unary.h"

#include <cmath>

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

const char* unary_op_name(UnaryOp op) {
  switch (op) {
#define MINIDL_UNARY_NAME_(name, S) \
  case UnaryOp::S:                  \
    return #name;
    MINIDL_UNARY_OPS(MINIDL_UNARY_NAME_)
#undef MINIDL_UNARY_NAME_
  }
  return "unary";
}

namespace {

struct UnaryBackward : Node {
  UnaryOp op = UnaryOp::Exp;
  double a = 0, b = 0;
  Tensor x, y;
  std::string name() const override { return std::string(unary_op_name(op)) + "Backward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty_like(dy);
    dispatch_floating(dy.dtype(), unary_op_name(op), [&](auto tag) {
      using T = decltype(tag);
      MINIDL_KERNEL(dy.device(), unary_bwd<T>)(op, T(a), T(b), x.data<T>(), y.data<T>(), dy.data<T>(), dx.data<T>(),
                                                dy.numel());
    });
    return {dx};
  }
  void release_saved() override { x = y = Tensor(); }
};

}  // namespace

namespace ops {

Tensor unary(UnaryOp op, const Tensor& x, double a, double b) {
  check_same_device_dtype(unary_op_name(op), {&x});
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), unary_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    MINIDL_KERNEL(x.device(), unary_fwd<T>)(op, T(a), T(b), x.data<T>(), y.data<T>(), x.numel());
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<UnaryBackward>();
    node->op = op, node->a = a, node->b = b;
    node->x = x.detach();
    node->y = y.detach();
    connect(y, node, {x});
  }
  return y;
}

Tensor exp(const Tensor& x) { return unary(UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::Log, x); }
Tensor log1p(const Tensor& x) { return unary(UnaryOp::Log1p, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary(UnaryOp::Rsqrt, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::Abs, x); }
Tensor neg(const Tensor& x) { return unary(UnaryOp::Neg, x); }
Tensor sign(const Tensor& x) { return unary(UnaryOp::Sign, x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::Tanh, x); }
Tensor hardswish(const Tensor& x) { return unary(UnaryOp::Hardswish, x); }
Tensor mish(const Tensor& x) { return unary(UnaryOp::Mish, x); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  MINIDL_CHECK(approximate == "none" || approximate == "tanh", "gelu: approximate must be 'none' or 'tanh' (as in "
               "PyTorch), got '", approximate, "'");
  return unary(approximate == "none" ? UnaryOp::Gelu : UnaryOp::GeluTanh, x);
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  MINIDL_CHECK(std::isfinite(negative_slope), "leaky_relu: negative_slope must be finite, got ", negative_slope);
  return unary(UnaryOp::LeakyRelu, x, negative_slope);
}

Tensor elu(const Tensor& x, double alpha) {
  MINIDL_CHECK(std::isfinite(alpha), "elu: alpha must be finite, got ", alpha);
  return unary(UnaryOp::Elu, x, alpha);
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  MINIDL_CHECK(std::isfinite(beta) && beta != 0, "softplus: beta must be finite and non-zero, got ", beta);
  MINIDL_CHECK(!std::isnan(threshold), "softplus: threshold is NaN");
  return unary(UnaryOp::Softplus, x, beta, threshold);
}

Tensor pow(const Tensor& x, double exponent) {
  MINIDL_CHECK(!std::isnan(exponent), "pow: the exponent is NaN");
  return unary(UnaryOp::Pow, x, exponent);
}

Tensor clamp(const Tensor& x, double min, double max) {
  MINIDL_CHECK(!std::isnan(min) && !std::isnan(max) && min <= max, "clamp: need min <= max (neither NaN), got min ",
               min, ", max ", max);
  return unary(UnaryOp::Clamp, x, min, max);
}

}  // namespace ops
}  // namespace minidl

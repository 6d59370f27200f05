// Front-end of conv2d: checks, output allocation, the engine choice and Conv2dBackward.
//   y = conv(x, w) + b   [N, C, H, W] * [K, C/G, R, S] -> [N, K, P, Q]
//   dx = conv2d_bwd_data(dy, w)   ("transposed convolution" of dy)
//   dw = conv2d_bwd_weight(x, dy) (correlation of x with dy), db = sum of dy over n, p, q
// Conv2dBackward saves x (detached, only when w needs a gradient) and w (detached, only when x
// needs one) and computes only the gradients that are needed.
#include "kernels/conv.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"
#include "kernels/linear.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda (the default) or cudnn --
EngineChoice& conv_engine() {
  static EngineChoice choice("conv2d", "MINIDL_CONV_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda, Engine::Cudnn});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define CONV_ENGINES ref, cpu, cuda, cudnn

namespace {

struct Conv2dBackward : Node {
  Tensor x, weight;
  Conv2dShape shape;
  std::string name() const override { return "Conv2dBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx, dw, db;
    const Conv2dShape& s = shape;
    dispatch_floating(dy.dtype(), "conv2d", [&](auto tag) {
      using T = decltype(tag);
      if (needs_input_grad(0)) {
        dx = empty({s.N, s.C, s.H, s.W}, dy.options());
        const auto kernel = MINIDL_CHOSEN_KERNEL(conv_engine(), dy.device(), conv2d_bwd_data<T>, CONV_ENGINES);
        kernel(s, dy.data<T>(), weight.data<T>(), dx.data<T>());
      }
      if (needs_input_grad(2)) db = empty({s.K}, dy.options());
      if (needs_input_grad(1)) {
        dw = empty({s.K, s.Cg(), s.R, s.S}, dy.options());
        const auto kernel = MINIDL_CHOSEN_KERNEL(conv_engine(), dy.device(), conv2d_bwd_weight<T>, CONV_ENGINES);
        kernel(s, x.data<T>(), dy.data<T>(), dw.data<T>(), db.defined() ? db.data<T>() : nullptr);
      } else if (db.defined()) {  // only the bias: a plain sum, no need for x (ref / cuda bias_bwd)
        MINIDL_KERNEL(dy.device(), bias_bwd<T>)(dy.data<T>(), db.data<T>(), s.N, s.K, s.P * s.Q);
      }
    });
    return {dx, dw, db};
  }
  void release_saved() override { x = weight = Tensor(); }
};

}  // namespace

namespace ops {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dFuncOptions& o) {
  check_dim(x, 4, "conv2d", "input", "[N, C, H, W]");
  check_dim(weight, 4, "conv2d", "weight", "[K, C/groups, R, S]");
  check_same_device_dtype("conv2d", {&x, &weight, &bias});
  MINIDL_CHECK(o.stride().h >= 1 && o.stride().w >= 1, "conv2d: stride must be at least 1, got ", o.stride());
  MINIDL_CHECK(o.padding().h >= 0 && o.padding().w >= 0, "conv2d: padding must be non-negative, got ", o.padding());
  const int64_t G = o.groups();
  MINIDL_CHECK(G >= 1, "conv2d: groups must be at least 1, got ", G);
  Conv2dShape s;
  s.N = x.size(0), s.C = x.size(1), s.H = x.size(2), s.W = x.size(3);
  s.K = weight.size(0), s.R = weight.size(2), s.S = weight.size(3);
  s.stride_h = o.stride().h, s.stride_w = o.stride().w, s.pad_h = o.padding().h, s.pad_w = o.padding().w, s.groups = G;
  MINIDL_CHECK(s.C >= 1 && s.H >= 1 && s.W >= 1, "conv2d: input has an empty channel or spatial size (shape ",
               x.shape(), ")");
  MINIDL_CHECK(s.K >= 1 && s.R >= 1 && s.S >= 1, "conv2d: weight has an empty dimension (shape ", weight.shape(), ")");
  MINIDL_CHECK(s.C % G == 0, "conv2d: groups = ", G, " does not divide the ", s.C, " input channels (input shape ",
               x.shape(), ")");
  MINIDL_CHECK(s.K % G == 0, "conv2d: groups = ", G, " does not divide the ", s.K, " output channels (weight shape ",
               weight.shape(), ")");
  MINIDL_CHECK(weight.size(1) * G == s.C, "conv2d: input has ", s.C, " channels (shape ", x.shape(), ") but weight ",
               weight.shape(), " with groups = ", G, " expects ", weight.size(1) * G);
  MINIDL_CHECK(s.H + 2 * s.pad_h >= s.R && s.W + 2 * s.pad_w >= s.S, "conv2d: kernel ", s.R, "x", s.S,
               " (weight shape ", weight.shape(), ") is larger than the padded input ", s.H + 2 * s.pad_h, "x",
               s.W + 2 * s.pad_w, " (input shape ", x.shape(), ", padding (", s.pad_h, ", ", s.pad_w, "))");
  if (bias.defined())
    MINIDL_CHECK(bias.shape() == Shape{s.K}, "conv2d: bias shape ", bias.shape(), " should be [", s.K,
                 "] for weight ", weight.shape());
  s.P = (s.H + 2 * s.pad_h - s.R) / s.stride_h + 1;
  s.Q = (s.W + 2 * s.pad_w - s.S) / s.stride_w + 1;

  Tensor y = empty({s.N, s.K, s.P, s.Q}, x.options());
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    const auto kernel = MINIDL_CHOSEN_KERNEL(conv_engine(), x.device(), conv2d_fwd<T>, CONV_ENGINES);
    kernel(s, x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
  });
  if (needs_grad({x, weight, bias})) {
    auto node = std::make_shared<Conv2dBackward>();
    node->shape = s;
    if (weight.requires_grad()) node->x = x.detach();
    if (x.requires_grad()) node->weight = weight.detach();
    connect(y, node, {x, weight, bias});
  }
  return y;
}

}  // namespace ops
}  // namespace minidl

// Front-end of softmax and log_softmax: checks, output allocation, the engine choice and the
// backward node. x is viewed as [outer, D, inner] around the softmax dimension. Gradients, from
// the saved output y (the Jacobian of softmax is diag(y) - y y^T):
//   y = softmax(x):      dx = y * (dy - sum(dy * y))
//   y = log_softmax(x):  dx = dy - exp(y) * sum(dy)
// Saved: y.detach() (sharing the data, not the node: see core/autograd.h) and the view sizes.
#include "kernels/softmax.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& softmax_engine() {
  static EngineChoice choice("softmax", "MINIDL_SOFTMAX_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define SOFTMAX_ENGINES ref, cpu, cuda

namespace {

struct SoftmaxBackward : Node {
  Tensor y;  // the output, detached
  int64_t outer = 1, D = 1, inner = 1;
  bool log = false;  // log_softmax
  std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty_like(dy);
    dispatch_floating(dy.dtype(), name().c_str(), [&](auto tag) {
      using T = decltype(tag);
      const auto bwd = log ? MINIDL_CHOSEN_KERNEL(softmax_engine(), dy.device(), log_softmax_bwd<T>, SOFTMAX_ENGINES)
                           : MINIDL_CHOSEN_KERNEL(softmax_engine(), dy.device(), softmax_bwd<T>, SOFTMAX_ENGINES);
      bwd(y.data<T>(), dy.data<T>(), dx.data<T>(), outer, D, inner);
    });
    return {dx};
  }
  void release_saved() override { y = Tensor(); }
};

Tensor softmax_impl(const char* op, const Tensor& x, int64_t dim, bool log) {
  check_same_device_dtype(op, {&x});
  const Shape& s = x.shape();
  MINIDL_CHECK(s.ndim() >= 1, op, ": expected a tensor with at least one dimension, got shape ", s);
  MINIDL_CHECK(dim >= -s.ndim() && dim < s.ndim(), op, ": dim ", dim, " is out of range for shape ", s,
               " (expected ", -s.ndim(), " <= dim < ", s.ndim(), ")");
  const int64_t axis = dim < 0 ? dim + s.ndim() : dim;
  const int64_t outer = s.prod(0, axis), D = s[axis], inner = s.prod(axis + 1, s.ndim());
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const auto fwd = log ? MINIDL_CHOSEN_KERNEL(softmax_engine(), x.device(), log_softmax_fwd<T>, SOFTMAX_ENGINES)
                         : MINIDL_CHOSEN_KERNEL(softmax_engine(), x.device(), softmax_fwd<T>, SOFTMAX_ENGINES);
    fwd(x.data<T>(), y.data<T>(), outer, D, inner);
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<SoftmaxBackward>();
    node->y = y.detach();
    node->outer = outer, node->D = D, node->inner = inner;
    node->log = log;
    connect(y, node, {x});
  }
  return y;
}

}  // namespace

namespace ops {
Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl("log_softmax", x, dim, true); }
}  // namespace ops

}  // namespace minidl

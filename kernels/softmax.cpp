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

namespace {

template <class T>
struct SoftmaxKernels {
  decltype(&ref::softmax_fwd<T>) softmax_fwd, log_softmax_fwd;
  decltype(&ref::softmax_bwd<T>) softmax_bwd, log_softmax_bwd;
};

template <class T>
SoftmaxKernels<T> softmax_kernels(Device d) {
  switch (softmax_engine().active(d)) {
    case Engine::Ref:
      return {MINIDL_ENGINE_KERNEL(ref, softmax_fwd<T>), MINIDL_ENGINE_KERNEL(ref, log_softmax_fwd<T>),
              MINIDL_ENGINE_KERNEL(ref, softmax_bwd<T>), MINIDL_ENGINE_KERNEL(ref, log_softmax_bwd<T>)};
    case Engine::Cpu:
      return {MINIDL_ENGINE_KERNEL(cpu, softmax_fwd<T>), MINIDL_ENGINE_KERNEL(cpu, log_softmax_fwd<T>),
              MINIDL_ENGINE_KERNEL(cpu, softmax_bwd<T>), MINIDL_ENGINE_KERNEL(cpu, log_softmax_bwd<T>)};
    case Engine::Cuda:
      return {MINIDL_ENGINE_KERNEL(cuda, softmax_fwd<T>), MINIDL_ENGINE_KERNEL(cuda, log_softmax_fwd<T>),
              MINIDL_ENGINE_KERNEL(cuda, softmax_bwd<T>), MINIDL_ENGINE_KERNEL(cuda, log_softmax_bwd<T>)};
    default: break;
  }
  MINIDL_FAIL("softmax: no kernels for engine ", engine_name(softmax_engine().active(d)));
}

struct SoftmaxBackward : Node {
  Tensor y;  // the output, detached
  int64_t outer = 1, D = 1, inner = 1;
  bool log = false;  // log_softmax
  std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty_like(dy);
    dispatch_floating(dy.dtype(), name().c_str(), [&](auto tag) {
      using T = decltype(tag);
      const SoftmaxKernels<T> k = softmax_kernels<T>(dy.device());
      (log ? k.log_softmax_bwd : k.softmax_bwd)(y.data<T>(), dy.data<T>(), dx.data<T>(), outer, D, inner);
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
    const SoftmaxKernels<T> k = softmax_kernels<T>(x.device());
    (log ? k.log_softmax_fwd : k.softmax_fwd)(x.data<T>(), y.data<T>(), outer, D, inner);
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

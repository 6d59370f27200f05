// Front-end of the elementwise ops: checks, output allocation, CPU-or-CUDA dispatch, and the
// backward nodes. The gradients:
//   y = a + b:          da = dy,             db = dy
//   y = a - b:          da = dy,             db = -dy
//   y = a * b:          da = dy * b,         db = dy * a
//   y = x * s + t:      dx = dy * s
//   y = relu(x):        dx = dy * [y > 0]
//   y = silu(x):        dx = dy * s (1 + x (1 - s)),  s = sigmoid(x)   (saves x)
#include "kernels/elementwise.h"

#include "kernels/broadcast.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& elementwise_engine() {
  static EngineChoice choice("elementwise", "MINIDL_ELEMENTWISE_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define ELEMENTWISE_ENGINES ref, cpu, cuda
// The active engine's function fn (e.g. relu_fwd<T>) for tensors on `device`.
#define ELEMENTWISE_KERNEL(device, fn) MINIDL_CHOSEN_KERNEL(elementwise_engine(), device, fn, ELEMENTWISE_ENGINES)
namespace {

// Equal shapes take this family's tuned path; different ones broadcast (kernels/broadcast.h).
bool broadcasts(const Tensor& a, const Tensor& b) { return a.defined() && b.defined() && a.shape() != b.shape(); }
void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  check_same_device_dtype(op, {&a, &b});
  MINIDL_CHECK(a.shape() == b.shape(), op, ": shapes ", a.shape(), " and ", b.shape(), " must match");
}

// y = alpha * a + beta * b on a's device.
Tensor axpby(double alpha, const Tensor& a, double beta, const Tensor& b) {
  Tensor y = empty_like(a);
  dispatch_floating(a.dtype(), "axpby", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(a.device(), axpby<T>)(T(alpha), a.data<T>(), T(beta), b.data<T>(), y.data<T>(), a.numel());
  });
  return y;
}

Tensor affine_raw(const Tensor& x, double scale, double shift) {
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), "affine", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(x.device(), affine<T>)(x.data<T>(), T(scale), T(shift), y.data<T>(), x.numel());
  });
  return y;
}

Tensor mul_raw(const Tensor& a, const Tensor& b) {
  Tensor y = empty_like(a);
  dispatch_floating(a.dtype(), "mul", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(a.device(), mul<T>)(a.data<T>(), b.data<T>(), y.data<T>(), a.numel());
  });
  return y;
}

struct AddBackward : Node {
  double beta = 1.0;  // y = a + beta * b (beta = -1 for sub)
  std::string name() const override { return beta == 1.0 ? "AddBackward" : "SubBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor db;
    if (needs_input_grad(1)) db = beta == 1.0 ? dy : affine_raw(dy, beta, 0.0);
    return {dy, db};
  }
};

struct MulBackward : Node {
  Tensor a, b;
  std::string name() const override { return "MulBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor da, db;
    if (needs_input_grad(0)) da = mul_raw(dy, b);
    if (needs_input_grad(1)) db = mul_raw(dy, a);
    return {da, db};
  }
  void release_saved() override { a = b = Tensor(); }
};

struct AffineBackward : Node {
  double scale = 1.0;
  std::string name() const override { return "AffineBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override { return {scale == 1.0 ? dy : affine_raw(dy, scale, 0.0)}; }
};

struct ReluBackward : Node {
  Tensor y;  // the output, detached (see autograd.h: never the output Tensor itself)
  std::string name() const override { return "ReluBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty_like(dy);
    dispatch_floating(dy.dtype(), "relu", [&](auto tag) {
      using T = decltype(tag);
      ELEMENTWISE_KERNEL(dy.device(), relu_bwd<T>)(y.data<T>(), dy.data<T>(), dx.data<T>(), dy.numel());
    });
    return {dx};
  }
  void release_saved() override { y = Tensor(); }
};

struct SiluBackward : Node {
  Tensor x;  // the input, detached
  std::string name() const override { return "SiluBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty_like(dy);
    dispatch_floating(dy.dtype(), "silu", [&](auto tag) {
      using T = decltype(tag);
      ELEMENTWISE_KERNEL(dy.device(), silu_bwd<T>)(x.data<T>(), dy.data<T>(), dx.data<T>(), dy.numel());
    });
    return {dx};
  }
  void release_saved() override { x = Tensor(); }
};

Tensor add_or_sub(const char* op, const Tensor& a, const Tensor& b, double beta) {
  if (broadcasts(a, b)) return ops::binary(beta == 1.0 ? BinaryOp::Add : BinaryOp::Sub, a, b);
  check_same_shape(op, a, b);
  Tensor y = axpby(1.0, a, beta, b);
  if (needs_grad({a, b})) {
    auto node = std::make_shared<AddBackward>();
    node->beta = beta;
    connect(y, node, {a, b});
  }
  return y;
}

}  // namespace

namespace ops {

Tensor add(const Tensor& a, const Tensor& b) { return add_or_sub("add", a, b, 1.0); }
Tensor sub(const Tensor& a, const Tensor& b) { return add_or_sub("sub", a, b, -1.0); }

Tensor mul(const Tensor& a, const Tensor& b) {
  if (broadcasts(a, b)) return binary(BinaryOp::Mul, a, b);
  check_same_shape("mul", a, b);
  Tensor y = mul_raw(a, b);
  if (needs_grad({a, b})) {
    auto node = std::make_shared<MulBackward>();
    if (b.defined() && a.requires_grad()) node->b = b.detach();
    if (a.defined() && b.requires_grad()) node->a = a.detach();
    connect(y, node, {a, b});
  }
  return y;
}

Tensor affine(const Tensor& x, double scale, double shift) {
  check_same_device_dtype("affine", {&x});
  Tensor y = affine_raw(x, scale, shift);
  if (needs_grad({x})) {
    auto node = std::make_shared<AffineBackward>();
    node->scale = scale;
    connect(y, node, {x});
  }
  return y;
}

Tensor relu(const Tensor& x) {
  check_same_device_dtype("relu", {&x});
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), "relu", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(x.device(), relu_fwd<T>)(x.data<T>(), y.data<T>(), x.numel());
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<ReluBackward>();
    node->y = y.detach();
    connect(y, node, {x});
  }
  return y;
}

Tensor silu(const Tensor& x) {
  check_same_device_dtype("silu", {&x});
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), "silu", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(x.device(), silu_fwd<T>)(x.data<T>(), y.data<T>(), x.numel());
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<SiluBackward>();
    node->x = x.detach();
    connect(y, node, {x});
  }
  return y;
}

void add_(Tensor& a, const Tensor& b, double alpha) {
  check_same_shape("add_", a, b);
  dispatch_floating(a.dtype(), "add_", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(a.device(), axpby<T>)(T(1), a.data<T>(), T(alpha), b.data<T>(), a.data<T>(), a.numel());
  });
}

void scale_(Tensor& a, double scale) {
  check_same_device_dtype("scale_", {&a});
  dispatch_floating(a.dtype(), "scale_", [&](auto tag) {
    using T = decltype(tag);
    ELEMENTWISE_KERNEL(a.device(), affine<T>)(a.data<T>(), T(scale), T(0), a.data<T>(), a.numel());
  });
}

}  // namespace ops
}  // namespace minidl

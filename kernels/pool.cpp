// Front-end of the pooling ops: checks, output allocation, CPU-or-CUDA dispatch, backward nodes.
// Gradients (every (n, c) plane independently):
//   max:      dx[p] = sum of dy[o] over the outputs o whose window chose p as its (first) maximum
//   avg:      dx[p] = sum of dy[o] / (kernel_h * kernel_w) over the windows o containing p
//   adaptive: dx[p] = sum of dy[o] / |window o| over the windows o containing p
// What is saved: max_pool2d keeps the forward's argmax (int32, one per output: the position in
// the input plane) rather than recomputing it, so its backward reads 4 bytes per output instead
// of re-scanning every window of x (and x need not be kept alive); ties resolve once, in the
// forward. avg and adaptive save only sizes.
#include "kernels/pool.h"

#include <limits>
#include <memory>

#include "core/autograd.h"
#include "core/storage.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& pool_engine() {
  static EngineChoice choice("pool", "MINIDL_POOL_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define POOL_ENGINES ref, cpu, cuda
// The active engine's function fn (e.g. relu_fwd<T>) for tensors on `device`.
#define POOL_KERNEL(device, fn) MINIDL_CHOSEN_KERNEL(pool_engine(), device, fn, POOL_ENGINES)
namespace {

// Checks x and the window, and returns the geometry of the call (PyTorch's rules: floor output
// size, padding at most half the window so every window holds at least one real element).
Pool2dGeometry pool_geometry(const char* op, const Tensor& x, const ops::Pool2dFuncOptions& o) {
  check_dim(x, 4, op, "input", "(N, C, H, W)");
  check_same_device_dtype(op, {&x});
  const Size2 k = o.kernel_size(), st = o.stride(), pad = o.padding();
  MINIDL_CHECK(k.h > 0 && k.w > 0, op, ": kernel size must be positive, got ", k);
  MINIDL_CHECK(st.h > 0 && st.w > 0, op, ": stride must be positive, got ", st);
  MINIDL_CHECK(pad.h >= 0 && pad.w >= 0, op, ": padding must be non-negative, got ", pad);
  MINIDL_CHECK(2 * pad.h <= k.h && 2 * pad.w <= k.w, op, ": padding ", pad, " must be at most half the kernel ", k,
               ", as in PyTorch");
  const int64_t H = x.size(2), W = x.size(3);
  // Checked before dividing: C++ division truncates toward zero, so a negative numerator would
  // give an output size of 1 instead of an error.
  MINIDL_CHECK(H + 2 * pad.h >= k.h && W + 2 * pad.w >= k.w, op, ": the ", k.h, "x", k.w,
               " window is larger than the input of shape ", x.shape(), " padded by ", pad);
  MINIDL_CHECK(H * W <= std::numeric_limits<int32_t>::max(), op, ": an input plane of ", H, "x", W,
               " is too large for int32 positions (shape ", x.shape(), ")");
  Pool2dGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.H = H, g.W = W;
  g.out_h = (H + 2 * pad.h - k.h) / st.h + 1;
  g.out_w = (W + 2 * pad.w - k.w) / st.w + 1;
  g.kernel_h = k.h, g.kernel_w = k.w;
  g.stride_h = st.h, g.stride_w = st.w;
  g.pad_h = pad.h, g.pad_w = pad.w;
  return g;
}

struct MaxPool2dBackward : Node {
  Pool2dGeometry g{};
  Shape input_shape;
  std::shared_ptr<Storage> argmax;  // int32 [planes, out_h, out_w]: position of the max in its plane
  std::string name() const override { return "MaxPool2dBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    MINIDL_CHECK(argmax, "MaxPool2dBackward: saved argmax already released (use retain_graph=true)");
    Tensor dx = empty(input_shape, dy.options());
    dispatch_floating(dy.dtype(), "max_pool2d", [&](auto tag) {
      using T = decltype(tag);
      POOL_KERNEL(dy.device(), max_pool2d_bwd<T>)(dy.data<T>(), static_cast<const int32_t*>(argmax->data()),
                                                  dx.data<T>(), g);
    });
    return {dx};
  }
  void release_saved() override { argmax.reset(); }
};

struct AvgPool2dBackward : Node {
  Pool2dGeometry g{};
  Shape input_shape;
  std::string name() const override { return "AvgPool2dBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty(input_shape, dy.options());
    dispatch_floating(dy.dtype(), "avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      POOL_KERNEL(dy.device(), avg_pool2d_bwd<T>)(dy.data<T>(), dx.data<T>(), g);
    });
    return {dx};
  }
};

struct AdaptiveAvgPool2dBackward : Node {
  Shape input_shape;
  int64_t out_h = 1, out_w = 1;
  std::string name() const override { return "AdaptiveAvgPool2dBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty(input_shape, dy.options());
    const Shape& s = input_shape;
    dispatch_floating(dy.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
      using T = decltype(tag);
      POOL_KERNEL(dy.device(), adaptive_avg_pool2d_bwd<T>)(dy.data<T>(), dx.data<T>(), s[0] * s[1], s[2], s[3], out_h,
                                                           out_w);
    });
    return {dx};
  }
};

}  // namespace

namespace ops {

Tensor max_pool2d(const Tensor& x, const Pool2dFuncOptions& options) {
  const Pool2dGeometry g = pool_geometry("max_pool2d", x, options);
  Tensor y = empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.options());
  const bool grad = needs_grad({x});
  // The argmax is written only when a backward will read it (inference skips the extra stores).
  std::shared_ptr<Storage> argmax;
  if (grad) argmax = std::make_shared<Storage>(static_cast<size_t>(y.numel()) * sizeof(int32_t), x.device());
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    POOL_KERNEL(x.device(), max_pool2d_fwd<T>)(x.data<T>(), y.data<T>(),
                                               argmax ? static_cast<int32_t*>(argmax->data()) : nullptr, g);
  });
  if (grad) {
    auto node = std::make_shared<MaxPool2dBackward>();
    node->g = g;
    node->input_shape = x.shape();
    node->argmax = std::move(argmax);
    connect(y, node, {x});
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dFuncOptions& options) {
  const Pool2dGeometry g = pool_geometry("avg_pool2d", x, options);
  Tensor y = empty({x.size(0), x.size(1), g.out_h, g.out_w}, x.options());
  dispatch_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    POOL_KERNEL(x.device(), avg_pool2d_fwd<T>)(x.data<T>(), y.data<T>(), g);
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<AvgPool2dBackward>();
    node->g = g;
    node->input_shape = x.shape();
    connect(y, node, {x});
  }
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
  const int64_t out_h = output_size.h, out_w = output_size.w;
  check_dim(x, 4, "adaptive_avg_pool2d", "input", "(N, C, H, W)");
  check_same_device_dtype("adaptive_avg_pool2d", {&x});
  MINIDL_CHECK(out_h > 0 && out_w > 0, "adaptive_avg_pool2d: output size must be positive, got (", out_h, ", ",
               out_w, ") for input shape ", x.shape());
  MINIDL_CHECK(x.size(2) > 0 && x.size(3) > 0, "adaptive_avg_pool2d: input has an empty plane (shape ", x.shape(),
               ")");
  Tensor y = empty({x.size(0), x.size(1), out_h, out_w}, x.options());
  dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    POOL_KERNEL(x.device(), adaptive_avg_pool2d_fwd<T>)(x.data<T>(), y.data<T>(), x.size(0) * x.size(1), x.size(2),
                                                        x.size(3), out_h, out_w);
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<AdaptiveAvgPool2dBackward>();
    node->input_shape = x.shape();
    node->out_h = out_h, node->out_w = out_w;
    connect(y, node, {x});
  }
  return y;
}

}  // namespace ops
}  // namespace minidl

// Front-end of the reductions. Gradients: y = scale * sum_k x[o, k, i] gives
// dx[o, k, i] = scale * dy[o, i] (scale = 1 for sum, 1/d for mean).
#include "kernels/reduce.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& reduce_engine() {
  static EngineChoice choice("reduce", "MINIDL_REDUCE_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define REDUCE_ENGINES ref, cpu, cuda
// The active engine's function fn (e.g. relu_fwd<T>) for tensors on `device`.
#define REDUCE_KERNEL(device, fn) MINIDL_CHOSEN_KERNEL(reduce_engine(), device, fn, REDUCE_ENGINES)
namespace {

struct ReduceBackward : Node {
  Shape input_shape;
  int64_t outer = 1, d = 1, inner = 1;
  double scale = 1.0;
  bool is_mean = false;
  std::string name() const override { return is_mean ? "MeanBackward" : "SumBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = empty(input_shape, dy.options());
    dispatch_floating(dy.dtype(), name().c_str(), [&](auto tag) {
      using T = decltype(tag);
      REDUCE_KERNEL(dy.device(), broadcast_dim<T>)(dy.data<T>(), dx.data<T>(), outer, d, inner, T(scale));
    });
    return {dx};
  }
};

// x viewed as [outer, d, inner]; reduced to out_shape.
Tensor reduce(const char* op, const Tensor& x, int64_t outer, int64_t d, int64_t inner, bool is_mean,
              const Shape& out_shape) {
  check_same_device_dtype(op, {&x});
  MINIDL_CHECK(!is_mean || d > 0, op, ": mean over an empty dimension (shape ", x.shape(), ")");
  const double scale = is_mean ? 1.0 / static_cast<double>(d) : 1.0;
  Tensor y = empty(out_shape, x.options());
  dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    REDUCE_KERNEL(x.device(), sum_dim<T>)(x.data<T>(), y.data<T>(), outer, d, inner, T(scale));
  });
  if (needs_grad({x})) {
    auto node = std::make_shared<ReduceBackward>();
    node->input_shape = x.shape();
    node->outer = outer, node->d = d, node->inner = inner;
    node->scale = scale;
    node->is_mean = is_mean;
    connect(y, node, {x});
  }
  return y;
}

Tensor reduce_dim(const char* op, const Tensor& x, int64_t dim, bool keepdim, bool is_mean) {
  const Shape& s = x.shape();
  const int64_t axis = static_cast<int64_t>(s.wrap(dim));
  std::vector<int64_t> out;
  for (int64_t i = 0; i < s.ndim(); ++i) {
    if (i != axis) out.push_back(s[i]);
    else if (keepdim) out.push_back(1);
  }
  return reduce(op, x, s.prod(0, axis), s[axis], s.prod(axis + 1, s.ndim()), is_mean, Shape(out));
}

}  // namespace

namespace ops {
Tensor sum(const Tensor& x) { return reduce("sum", x, 1, x.numel(), 1, false, Shape{}); }
Tensor mean(const Tensor& x) { return reduce("mean", x, 1, x.numel(), 1, true, Shape{}); }
Tensor sum(const Tensor& x, int64_t dim, bool keepdim) { return reduce_dim("sum", x, dim, keepdim, false); }
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) { return reduce_dim("mean", x, dim, keepdim, true); }
}  // namespace ops

}  // namespace minidl

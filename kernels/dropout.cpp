// Front-end of dropout and dropout2d (inverted dropout, PyTorch's semantics):
//   training, 0 < p < 1:  y = x * mask / (1 - p),  mask = [philox_uniform(seed, offset, k) >= p]
//                         k = the element index (dropout) or n * C + c (dropout2d: whole channels)
//   p == 1:               y = 0 (the mask keeps nothing; the scale is set to 0, not infinity)
//   eval or p == 0:       y = x (the input itself, so gradients flow through unchanged)
// Backward: dx = dy * mask / (1 - p). The node saves only (seed, offset, p): the backward
// regenerates the mask from the counter-based RNG instead of storing it, which costs no extra
// memory (a stored mask would be as large as x) and a Philox evaluation per 4 elements.
#include "kernels/dropout.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& dropout_engine() {
  static EngineChoice choice("dropout", "MINIDL_DROPOUT_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define DROPOUT_ENGINES ref, cpu, cuda
// The active engine's function fn (e.g. relu_fwd<T>) for tensors on `device`.
#define DROPOUT_KERNEL(device, fn) MINIDL_CHOSEN_KERNEL(dropout_engine(), device, fn, DROPOUT_ENGINES)
namespace {

struct DropoutParams {
  int64_t group = 1;  // elements per draw: 1 (dropout) or the channel size (dropout2d)
  float p = 0;        // the kernels compare in float, so CPU and CUDA agree bit for bit
  double scale = 1;   // 1 / (1 - p), or 0 when p == 1
  uint64_t seed = 0, offset = 0;
};

Tensor apply(const Tensor& x, const DropoutParams& d) {
  Tensor y = empty_like(x);
  dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    DROPOUT_KERNEL(x.device(), dropout_apply<T>)(x.data<T>(), y.data<T>(), x.numel(), d.group, d.p, T(d.scale),
                                                 d.seed, d.offset);
  });
  return y;
}

struct DropoutBackward : Node {
  DropoutParams params;
  bool channelwise = false;
  std::string name() const override { return channelwise ? "Dropout2dBackward" : "DropoutBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override { return {apply(dy, params)}; }
};

Tensor dropout_impl(const char* op, const Tensor& x, double p, bool training, Generator* gen, bool channelwise) {
  check_same_device_dtype(op, {&x});
  MINIDL_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p, " (input shape ", x.shape(), ")");
  if (channelwise)
    MINIDL_CHECK(x.dim() >= 2, op, ": input must be at least 2-D (N, C, *), got shape ", x.shape());
  if (!training || p == 0.0) return x;
  DropoutParams d;
  d.group = channelwise ? x.shape().prod(2, x.dim()) : 1;
  d.p = static_cast<float>(p);
  d.scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
  Generator& g = gen ? *gen : default_generator();
  d.seed = g.seed();
  d.offset = g.advance(static_cast<uint64_t>(channelwise ? x.size(0) * x.size(1) : x.numel()));
  Tensor y = apply(x, d);
  if (needs_grad({x})) {
    auto node = std::make_shared<DropoutBackward>();
    node->params = d;
    node->channelwise = channelwise;
    connect(y, node, {x});
  }
  return y;
}

}  // namespace

namespace ops {
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  return dropout_impl("dropout", x, p, training, gen, false);
}
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* gen) {
  return dropout_impl("dropout2d", x, p, training, gen, true);
}
}  // namespace ops
}  // namespace minidl

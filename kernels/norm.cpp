// Front-end of batch_norm, group_norm and layer_norm: checks, output allocation, the engine
// choice, and the backward nodes. The math and its derivation are in kernels/ref/norm.cpp:
//   xhat = (x - mean) * invstd,  y = gamma * xhat + beta
//   dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = gamma * dy
//   dgamma = sum dy * xhat,  dbeta = sum dy
// Every node saves x (detached), gamma (detached), and the mean and invstd the forward computed
// (never the output: see core/autograd.h). batch_norm in eval mode saves the running statistics
// it used as (mean, invstd) copies, so a later training step that updates the running buffers
// in place cannot change the gradient of this one.
#include "kernels/norm.h"

#include <algorithm>
#include <type_traits>

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice -------------------------------------------------------------------------
// batch_norm: on the CPU the tuned engine (default) or ref; on CUDA the hand-written kernels
// (default) or cuDNN.
// group_norm and layer_norm: the tuned engine (default) or ref on the CPU; cuda on CUDA.
EngineChoice& batch_norm_engine() {
  static EngineChoice choice("batch_norm", "MINIDL_BN_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda, Engine::Cudnn});
  return choice;
}
EngineChoice& group_norm_engine() {
  static EngineChoice choice("group_norm", "MINIDL_GN_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
EngineChoice& layer_norm_engine() {
  static EngineChoice choice("layer_norm", "MINIDL_LN_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define BN_ENGINES ref, cpu, cuda, cudnn
#define NORM_ENGINES ref, cpu, cuda  // group_norm and layer_norm
// The kernel fn of `choice`'s active engine, except that float64 on the CPU always runs the
// reference: the tuned engine is for float32 training; float64 is for checks (gradcheck, parity
// with PyTorch), where agreeing with the specification matters more than speed.
#define NORM_KERNEL(choice, device, fn, engines)                                                  \
  (std::is_same_v<T, double> && (device).is_cpu() ? MINIDL_ENGINE_KERNEL(ref, fn)                \
                                                   : MINIDL_CHOSEN_KERNEL(choice, device, fn, engines))

namespace {

// cuDNN's batch norm backward is the training-mode formula only: with cudnn active, the
// eval-mode backward (training = false) runs the cuda engine's.
template <class T>
decltype(&ref::batch_norm_bwd<T>) batch_norm_bwd_kernel(Device d, bool training) {
  if (!training && batch_norm_engine().active(d) == Engine::Cudnn) return MINIDL_ENGINE_KERNEL(cuda, batch_norm_bwd<T>);
  return NORM_KERNEL(batch_norm_engine(), d, batch_norm_bwd<T>, BN_ENGINES);
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* mutable_data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// An optional per-channel (or per-element) parameter must have exactly the expected shape.
void check_param(const char* op, const char* name, const Tensor& t, const Shape& expected, const Tensor& x,
                 const char* what) {
  if (!t.defined()) return;
  MINIDL_CHECK(t.shape() == expected, op, ": ", name, " has shape ", t.shape(), " but should be ", expected, " (",
               what, " of input ", x.shape(), ")");
}

// What the three backward nodes share: the saved tensors and the gradients' shapes.
struct NormBackwardBase : Node {
  Tensor x, gamma, mean, invstd;  // x and gamma detached; mean / invstd as the forward wrote them
  Shape affine_shape;             // shape of gamma / beta (and so of dgamma / dbeta)
  void release_saved() override { x = gamma = mean = invstd = Tensor(); }

 protected:
  // Allocates the gradients autograd asks for: dx, dgamma, dbeta (inputs 0, 1, 2).
  std::vector<Tensor> allocate_grads() const {
    return {needs_input_grad(0) ? empty_like(x) : Tensor(),
            needs_input_grad(1) ? empty(affine_shape, x.options()) : Tensor(),
            needs_input_grad(2) ? empty(affine_shape, x.options()) : Tensor()};
  }
};

struct BatchNormBackward : NormBackwardBase {
  int64_t N = 0, C = 0, S = 0;
  bool training = true;
  std::string name() const override { return "BatchNormBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    std::vector<Tensor> g = allocate_grads();
    dispatch_floating(dy.dtype(), "batch_norm backward", [&](auto tag) {
      using T = decltype(tag);
      const auto kernel = batch_norm_bwd_kernel<T>(dy.device(), training);
      kernel(dy.data<T>(), x.data<T>(), data_or_null<T>(gamma), mean.data<T>(), invstd.data<T>(),
             mutable_data_or_null<T>(g[0]), mutable_data_or_null<T>(g[1]), mutable_data_or_null<T>(g[2]), N, C, S,
             training);
    });
    return g;
  }
};

struct GroupNormBackward : NormBackwardBase {
  int64_t N = 0, C = 0, S = 0, G = 1;
  std::string name() const override { return "GroupNormBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    std::vector<Tensor> g = allocate_grads();
    dispatch_floating(dy.dtype(), "group_norm backward", [&](auto tag) {
      using T = decltype(tag);
      const auto kernel = NORM_KERNEL(group_norm_engine(), dy.device(), group_norm_bwd<T>, NORM_ENGINES);
      kernel(dy.data<T>(), x.data<T>(), data_or_null<T>(gamma), mean.data<T>(), invstd.data<T>(),
             mutable_data_or_null<T>(g[0]), mutable_data_or_null<T>(g[1]), mutable_data_or_null<T>(g[2]), N, C, S, G);
    });
    return g;
  }
};

struct LayerNormBackward : NormBackwardBase {
  int64_t M = 0, D = 0;
  std::string name() const override { return "LayerNormBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    std::vector<Tensor> g = allocate_grads();
    dispatch_floating(dy.dtype(), "layer_norm backward", [&](auto tag) {
      using T = decltype(tag);
      const auto kernel = NORM_KERNEL(layer_norm_engine(), dy.device(), layer_norm_bwd<T>, NORM_ENGINES);
      kernel(dy.data<T>(), x.data<T>(), data_or_null<T>(gamma), mean.data<T>(), invstd.data<T>(),
             mutable_data_or_null<T>(g[0]), mutable_data_or_null<T>(g[1]), mutable_data_or_null<T>(g[2]), M, D);
    });
    return g;
  }
};

// Fills the shared part of a node and connects it to (x, weight, bias).
void record(Tensor& y, const std::shared_ptr<NormBackwardBase>& node, const Tensor& x, const Tensor& weight,
            const Tensor& bias, const Tensor& mean, const Tensor& invstd, const Shape& affine_shape) {
  node->x = x.detach();
  if (weight.defined()) node->gamma = weight.detach();
  node->mean = mean;
  node->invstd = invstd;
  node->affine_shape = affine_shape;
  connect(y, node, {x, weight, bias});
}

}  // namespace

namespace ops {

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  MINIDL_CHECK(x.defined() && x.dim() >= 2, "batch_norm: input must be at least 2-D [N, C, *], got shape ",
               x.defined() ? x.shape() : Shape{});
  check_same_device_dtype("batch_norm", {&x, &running_mean, &running_var, &weight, &bias});
  const int64_t N = x.size(0), C = x.size(1), S = x.shape().prod(2, x.dim());
  const Shape channels{C};
  check_param("batch_norm", "weight", weight, channels, x, "one per channel");
  check_param("batch_norm", "bias", bias, channels, x, "one per channel");
  check_param("batch_norm", "running_mean", running_mean, channels, x, "one per channel");
  check_param("batch_norm", "running_var", running_var, channels, x, "one per channel");
  MINIDL_CHECK(running_mean.defined() == running_var.defined(),
               "batch_norm: running_mean and running_var must be given together (got only ",
               running_mean.defined() ? "running_mean" : "running_var", ")");
  MINIDL_CHECK(eps >= 0, "batch_norm: eps must be >= 0, got ", eps);
  if (training) {
    MINIDL_CHECK(N * S > 1, "batch_norm: expected more than 1 value per channel when training, got input shape ",
                 x.shape(), " (", N * S, " value per channel)");
  } else {
    MINIDL_CHECK(running_mean.defined(),
                 "batch_norm: eval mode (training = false) needs running_mean and running_var (input shape ",
                 x.shape(), ")");
  }

  Tensor y = empty_like(x);
  Tensor mean = empty(channels, x.options()), invstd = empty(channels, x.options());
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    if (training) {
      const auto kernel = NORM_KERNEL(batch_norm_engine(), x.device(), batch_norm_fwd_train<T>, BN_ENGINES);
      kernel(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), y.data<T>(), mean.data<T>(), invstd.data<T>(),
             mutable_data_or_null<T>(running_mean), mutable_data_or_null<T>(running_var), N, C, S, momentum, eps);
    } else {
      const auto kernel = NORM_KERNEL(batch_norm_engine(), x.device(), batch_norm_fwd_eval<T>, BN_ENGINES);
      kernel(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), running_mean.data<T>(), running_var.data<T>(),
             y.data<T>(), mean.data<T>(), invstd.data<T>(), N, C, S, eps);
    }
  });
  if (needs_grad({x, weight, bias})) {
    auto node = std::make_shared<BatchNormBackward>();
    node->N = N, node->C = C, node->S = S;
    node->training = training;
    record(y, node, x, weight, bias, mean, invstd, channels);
  }
  return y;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  MINIDL_CHECK(x.defined() && x.dim() >= 2, "group_norm: input must be at least 2-D [N, C, *], got shape ",
               x.defined() ? x.shape() : Shape{});
  check_same_device_dtype("group_norm", {&x, &weight, &bias});
  const int64_t N = x.size(0), C = x.size(1), S = x.shape().prod(2, x.dim()), G = num_groups;
  MINIDL_CHECK(G > 0 && C % G == 0, "group_norm: num_groups ", G, " must divide the number of channels ", C,
               " (input shape ", x.shape(), ")");
  const Shape channels{C};
  check_param("group_norm", "weight", weight, channels, x, "one per channel");
  check_param("group_norm", "bias", bias, channels, x, "one per channel");
  MINIDL_CHECK(eps >= 0, "group_norm: eps must be >= 0, got ", eps);

  Tensor y = empty_like(x);
  Tensor mean = empty({N, G}, x.options()), invstd = empty({N, G}, x.options());
  dispatch_floating(x.dtype(), "group_norm", [&](auto tag) {
    using T = decltype(tag);
    const auto kernel = NORM_KERNEL(group_norm_engine(), x.device(), group_norm_fwd<T>, NORM_ENGINES);
    kernel(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), y.data<T>(), mean.data<T>(), invstd.data<T>(),
           N, C, S, G, eps);
  });
  if (needs_grad({x, weight, bias})) {
    auto node = std::make_shared<GroupNormBackward>();
    node->N = N, node->C = C, node->S = S, node->G = G;
    record(y, node, x, weight, bias, mean, invstd, channels);
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const Shape norm_shape(normalized_shape);
  const int64_t k = norm_shape.ndim();
  MINIDL_CHECK(k >= 1, "layer_norm: normalized_shape must name at least one dimension, got ", norm_shape);
  MINIDL_CHECK(x.defined(), "layer_norm: input is undefined");
  const Shape& s = x.shape();
  const bool ends_with = s.ndim() >= k && std::equal(norm_shape.begin(), norm_shape.end(), s.end() - k);
  MINIDL_CHECK(ends_with, "layer_norm: input shape ", s, " does not end with normalized_shape ", norm_shape);
  check_same_device_dtype("layer_norm", {&x, &weight, &bias});
  check_param("layer_norm", "weight", weight, norm_shape, x, "normalized_shape");
  check_param("layer_norm", "bias", bias, norm_shape, x, "normalized_shape");
  MINIDL_CHECK(eps >= 0, "layer_norm: eps must be >= 0, got ", eps);
  const int64_t D = norm_shape.numel(), M = s.prod(0, s.ndim() - k);
  MINIDL_CHECK(D > 0, "layer_norm: normalized_shape ", norm_shape, " has no elements");

  Tensor y = empty_like(x);
  Tensor mean = empty({M}, x.options()), invstd = empty({M}, x.options());
  dispatch_floating(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    const auto kernel = NORM_KERNEL(layer_norm_engine(), x.device(), layer_norm_fwd<T>, NORM_ENGINES);
    kernel(x.data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), y.data<T>(), mean.data<T>(), invstd.data<T>(),
           M, D, eps);
  });
  if (needs_grad({x, weight, bias})) {
    auto node = std::make_shared<LayerNormBackward>();
    node->M = M, node->D = D;
    record(y, node, x, weight, bias, mean, invstd, norm_shape);
  }
  return y;
}

}  // namespace ops
}  // namespace minidl

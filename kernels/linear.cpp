// Front-end of matmul and linear: checks, allocation, the gemm engine choice, the backward nodes.
// Gradients (row-major, dy = dL/dy):
//   y = a b            [M,K]x[K,N]:  da = dy b^T,  db = a^T dy
//   y = x W^T + b      [N,in],[out,in]: dx = dy W,  dW = dy^T x,  db = sum over rows of dy
#include "kernels/linear.h"

#include "core/autograd.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice of gemm: CPU cpu (Eigen, the default) or ref; CUDA cuda or cublas ------
EngineChoice& gemm_engine() {
  static EngineChoice choice("gemm", "MINIDL_GEMM_ENGINE", {Engine::Cpu, Engine::Ref}, {Engine::Cuda, Engine::Cublas});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define GEMM_ENGINES ref, cpu, cuda, cublas

namespace {

// C = op(A) op(B) for 2-D tensors, allocating C.
Tensor gemm_new(const Tensor& A, bool ta, const Tensor& B, bool tb) {
  const int64_t M = ta ? A.size(1) : A.size(0), K = ta ? A.size(0) : A.size(1);
  const int64_t N = tb ? B.size(0) : B.size(1);
  // An empty inner dimension: C = 0, no kernel (cuBLAS rejects the leading dimension 0 of such
  // an A or B; every engine would write zeros).
  if (K == 0) return zeros({M, N}, A.options());
  Tensor C = empty({M, N}, A.options());
  dispatch_floating(A.dtype(), "gemm", [&](auto tag) {
    using T = decltype(tag);
    const auto kernel = MINIDL_CHOSEN_KERNEL(gemm_engine(), A.device(), gemm<T>, GEMM_ENGINES);
    kernel(ta, tb, M, N, K, T(1), A.data<T>(), A.size(1), B.data<T>(), B.size(1), T(0), C.data<T>(), N);
  });
  return C;
}

struct MatmulBackward : Node {
  Tensor a, b;
  std::string name() const override { return "MatmulBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor da, db;
    if (needs_input_grad(0)) da = gemm_new(dy, false, b, true);
    if (needs_input_grad(1)) db = gemm_new(a, true, dy, false);
    return {da, db};
  }
  void release_saved() override { a = b = Tensor(); }
};

struct LinearBackward : Node {
  Tensor x, weight;
  std::string name() const override { return "LinearBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx, dw, db;
    if (needs_input_grad(0)) dx = gemm_new(dy, false, weight, false);
    if (needs_input_grad(1)) dw = gemm_new(dy, true, x, false);
    if (needs_input_grad(2)) {
      db = empty({dy.size(1)}, dy.options());
      dispatch_floating(dy.dtype(), "linear", [&](auto tag) {
        using T = decltype(tag);
        MINIDL_KERNEL(dy.device(), bias_bwd<T>)(dy.data<T>(), db.data<T>(), dy.size(0), dy.size(1), 1);
      });
    }
    return {dx, dw, db};
  }
  void release_saved() override { x = weight = Tensor(); }
};

}  // namespace

namespace ops {

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_dim(a, 2, "matmul", "a", "[M, K]");
  check_dim(b, 2, "matmul", "b", "[K, N]");
  check_same_device_dtype("matmul", {&a, &b});
  MINIDL_CHECK(a.size(1) == b.size(0), "matmul: inner sizes differ: a is ", a.shape(), ", b is ", b.shape());
  Tensor y = gemm_new(a, false, b, false);
  if (needs_grad({a, b})) {
    auto node = std::make_shared<MatmulBackward>();
    node->a = a.detach();
    node->b = b.detach();
    connect(y, node, {a, b});
  }
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_dim(x, 2, "linear", "input", "[N, in_features]");
  check_dim(weight, 2, "linear", "weight", "[out_features, in_features]");
  check_same_device_dtype("linear", {&x, &weight, &bias});
  MINIDL_CHECK(x.size(1) == weight.size(1), "linear: input has ", x.size(1), " features (shape ", x.shape(),
               ") but weight expects ", weight.size(1), " (shape ", weight.shape(), ")");
  if (bias.defined())
    MINIDL_CHECK(bias.shape() == Shape{weight.size(0)}, "linear: bias shape ", bias.shape(), " should be [",
                 weight.size(0), "] for weight ", weight.shape());
  Tensor y = gemm_new(x, false, weight, true);
  if (bias.defined()) {
    dispatch_floating(y.dtype(), "linear", [&](auto tag) {
      using T = decltype(tag);
      MINIDL_KERNEL(y.device(), bias_add<T>)(y.data<T>(), bias.data<T>(), y.size(0), y.size(1), 1);
    });
  }
  if (needs_grad({x, weight, bias})) {
    auto node = std::make_shared<LinearBackward>();
    if (weight.requires_grad()) node->x = x.detach();
    if (x.requires_grad()) node->weight = weight.detach();
    connect(y, node, {x, weight, bias});
  }
  return y;
}

}  // namespace ops
}  // namespace minidl

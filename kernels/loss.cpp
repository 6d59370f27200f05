// Front-end of nll_loss and cross_entropy: checks, output allocation, the engine choice and the
// backward nodes. Both losses are means over the batch of N rows. Gradients (g = dL/dloss):
//   nll_loss:      dlog_probs[n, c] = -(g / N) [c == t_n]
//   cross_entropy: dlogits[n, c] = (g / N) (softmax(x)[n, c] - q[n, c]),
//                  q = (1 - eps) onehot(t) + eps / C
// cross_entropy is fused (one kernel for log-sum-exp, the loss and what backward needs) and saves
// the logits (detached) and the per-row log-sum-exp lse[N]; backward recomputes
// softmax = exp(x - lse) instead of keeping an [N, C] tensor alive.
#include "kernels/loss.h"

#include "core/autograd.h"
#include "core/cuda_context.h"
#include "kernels/dispatch.h"

namespace minidl {

// ---- the engine choice: CPU cpu (tuned, the default) or ref; CUDA cuda -------------------------
EngineChoice& loss_engine() {
  static EngineChoice choice("nll_loss / cross_entropy", "MINIDL_LOSS_ENGINE", {Engine::Cpu, Engine::Ref},
                             {Engine::Cuda});
  return choice;
}
// The engines whose kernels the front-end below picks from (MINIDL_CHOSEN_KERNEL).
#define LOSS_ENGINES ref, cpu, cuda

namespace {

// Checks shared by both losses: input [N, C] floating, target int64 [N] on the same device.
void check_loss_inputs(const char* op, const Tensor& input, const char* input_name, const Tensor& target) {
  check_dim(input, 2, op, input_name, "[N, C]");
  check_same_device_dtype(op, {&input});
  MINIDL_CHECK(input.size(0) >= 1 && input.size(1) >= 1, op, ": expected at least one row and one class, got ",
               input_name, " of shape ", input.shape());
  MINIDL_CHECK(target.defined(), op, ": target is undefined");
  MINIDL_CHECK(target.dtype() == DType::Int64, op, ": target must hold int64 class indices, got a ", target.dtype(),
               " tensor of shape ", target.shape(), " (make it with minidl::labels)");
  MINIDL_CHECK(target.device() == input.device(), op, ": target is on ", target.device(), " but ", input_name,
               " is on ", input.device(), "; move it with .to(device)");
  MINIDL_CHECK(target.dim() == 1 && target.size(0) == input.size(0), op, ": target shape ", target.shape(),
               " does not match the batch of ", input_name, " ", input.shape(), " (expected [", input.size(0), "])");
}

// Runs a forward kernel that validates the labels. On the CPU it fills status[2] and a bad label
// throws here. On CUDA the kernel reports into the context's data-error slot
// (cuda::data_error_slot(), mapped host memory) and the next synchronization point throws
// (Tensor::item(), to(Device::cpu()), cuda::synchronize()): a clear error instead of an
// out-of-bounds read and a silently wrong loss, without a synchronization per training step.
template <class Launch>
void run_with_label_check(const char* op, const Tensor& input, const Launch& launch) {
  if (input.is_cuda()) {
    launch(cuda::data_error_slot());
    return;
  }
  int64_t status[2] = {0, 0};
  launch(status);
  MINIDL_CHECK(status[0] == 0, op, ": target value ", status[1], " is out of range for ", input.size(1),
               " classes (expected 0 <= target < ", input.size(1), ")");
}

struct NllLossBackward : Node {
  Tensor target;
  int64_t N = 0, C = 0;
  std::string name() const override { return "NllLossBackward"; }
  std::vector<Tensor> backward(const Tensor& dloss) override {
    Tensor dlp = empty({N, C}, dloss.options());
    dispatch_floating(dloss.dtype(), "nll_loss", [&](auto tag) {
      using T = decltype(tag);
      const auto kernel = MINIDL_CHOSEN_KERNEL(loss_engine(), dloss.device(), nll_loss_bwd<T>, LOSS_ENGINES);
      kernel(target.data<int64_t>(), dloss.data<T>(), dlp.data<T>(), N, C);
    });
    return {dlp};
  }
  void release_saved() override { target = Tensor(); }
};

struct CrossEntropyBackward : Node {
  Tensor logits, target, lse;  // logits detached; lse [N]
  double smoothing = 0.0;
  std::string name() const override { return "CrossEntropyBackward"; }
  std::vector<Tensor> backward(const Tensor& dloss) override {
    Tensor dx = empty_like(logits);
    dispatch_floating(dloss.dtype(), "cross_entropy", [&](auto tag) {
      using T = decltype(tag);
      const auto kernel = MINIDL_CHOSEN_KERNEL(loss_engine(), dloss.device(), cross_entropy_bwd<T>, LOSS_ENGINES);
      kernel(logits.data<T>(), target.data<int64_t>(), lse.data<T>(), dloss.data<T>(), dx.data<T>(), logits.size(0),
             logits.size(1), T(smoothing));
    });
    return {dx};
  }
  void release_saved() override { logits = target = lse = Tensor(); }
};

}  // namespace

namespace ops {

Tensor nll_loss(const Tensor& log_probs, const Tensor& target) {
  check_loss_inputs("nll_loss", log_probs, "log_probs", target);
  const int64_t N = log_probs.size(0), C = log_probs.size(1);
  Tensor loss = empty(Shape{}, log_probs.options());
  dispatch_floating(log_probs.dtype(), "nll_loss", [&](auto tag) {
    using T = decltype(tag);
    run_with_label_check("nll_loss", log_probs, [&](int64_t* status) {
      const auto kernel = MINIDL_CHOSEN_KERNEL(loss_engine(), log_probs.device(), nll_loss_fwd<T>, LOSS_ENGINES);
      kernel(log_probs.data<T>(), target.data<int64_t>(), loss.data<T>(), N, C, status);
    });
  });
  if (needs_grad({log_probs})) {
    auto node = std::make_shared<NllLossBackward>();
    node->target = target;
    node->N = N, node->C = C;
    connect(loss, node, {log_probs});
  }
  return loss;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing) {
  check_loss_inputs("cross_entropy", logits, "logits", target);
  MINIDL_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
               "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  const int64_t N = logits.size(0), C = logits.size(1);
  Tensor loss = empty(Shape{}, logits.options());
  Tensor lse = empty({N}, logits.options());
  dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    run_with_label_check("cross_entropy", logits, [&](int64_t* status) {
      const auto kernel = MINIDL_CHOSEN_KERNEL(loss_engine(), logits.device(), cross_entropy_fwd<T>, LOSS_ENGINES);
      kernel(logits.data<T>(), target.data<int64_t>(), loss.data<T>(), lse.data<T>(), N, C, T(label_smoothing),
             status);
    });
  });
  if (needs_grad({logits})) {
    auto node = std::make_shared<CrossEntropyBackward>();
    node->logits = logits.detach();
    node->target = target;
    node->lse = lse;
    node->smoothing = label_smoothing;
    connect(loss, node, {logits});
  }
  return loss;
}

}  // namespace ops
}  // namespace minidl

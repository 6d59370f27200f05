// The learning-rate range test ("LR finder", Smith 2015): train for num_iter batches while the
// learning rate grows from start_lr to end_lr (exponentially or linearly), record the smoothed loss,
// stop early when the loss diverges, and suggest the learning rate where the loss falls fastest
// (the steepest negative slope of the smoothed curve). The model's weights and buffers and the
// optimizer's state are restored afterwards, so the range test leaves no trace on the run that
// follows. It sees no module: the model enters as the loss function and the tensors to restore
// (optim/ sits below layers/, see docs/architecture.md).
//
//   model->train();
//   auto r = optim::lr_find(opt, [&] { return loss_of_next_batch(); }, model->state_dict());
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/options.h"
#include "core/tensor.h"
#include "optim/optimizer.h"

namespace minidl::optim {

// LRFinderOptions().start_lr(1e-6).num_iter(100)
class LRFinderOptions {
  MINIDL_ARG(double, start_lr, 1e-7)
  MINIDL_ARG(double, end_lr, 10.0)
  MINIDL_ARG(int64_t, num_iter, 100)
  MINIDL_ARG(bool, exponential, true)    // false: linear sweep
  MINIDL_ARG(double, smooth, 0.05)       // smoothed = smooth * loss + (1 - smooth) * previous smoothed
  MINIDL_ARG(double, diverge_factor, 5)  // stop when smoothed loss > diverge_factor * best smoothed loss
  MINIDL_ARG(int64_t, skip_start, 10)    // points ignored at each end when suggesting
  MINIDL_ARG(int64_t, skip_end, 5)
};

struct LRFinderResult {
  std::vector<double> lrs;     // the learning rate each batch was trained with
  std::vector<double> losses;  // smoothed losses
  double suggested_lr = 0.0;   // 0 when the curve is too short to suggest
  int64_t suggested_index = -1;
  bool diverged = false;
};

// batch_loss(): takes the next batch, runs the model forward and returns the scalar loss;
// lr_find does the backward pass and the optimizer step. state: every tensor the steps change
// besides the optimizer's own state (a model's state_dict(): parameters and buffers such as batch
// norm's running statistics); their values are put back in place at the end.
LRFinderResult lr_find(Optimizer& opt, const std::function<Tensor()>& batch_loss, const NamedTensors& state,
                       const LRFinderOptions& options = {});

// The steepest-descent suggestion on a smoothed curve (exposed for tests).
int64_t steepest_descent_index(const std::vector<double>& losses, int64_t skip_start, int64_t skip_end);

}  // namespace minidl::optim

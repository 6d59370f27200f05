// One training step of train_cifar: forward, cross-entropy, backward, the optimizer's step and the
// schedule's per-batch step, in that order (torch's order: the scheduler steps after the
// optimizer). run.cpp's epoch loop calls it, and so does the PyTorch parity test
// (tests/test_train_parity.cpp), so the step it checks against PyTorch is the one train_cifar runs.
#pragma once
#include "core/tensor.h"
#include "layers/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace minidl::train {

struct StepResult {
  Tensor output;       // the model's output for the batch (before the step)
  double loss = 0;     // the batch's mean loss (before the step)
  bool stepped = false;  // false when the loss was not finite: nothing was changed
};

// A non-finite loss leaves the parameters, the optimizer and the schedule untouched (the caller
// reports the divergence).
StepResult train_step(nn::Module& model, optim::Optimizer& opt, optim::LRScheduler* sched, const Tensor& images,
                      const Tensor& labels, double label_smoothing);

}  // namespace minidl::train

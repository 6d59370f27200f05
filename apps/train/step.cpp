#include "apps/train/step.h"

#include <cmath>

#include "kernels/loss.h"

namespace minidl::train {

StepResult train_step(nn::Module& model, optim::Optimizer& opt, optim::LRScheduler* sched, const Tensor& images,
                      const Tensor& labels, double label_smoothing) {
  StepResult r;
  r.output = model(images);
  Tensor loss = ops::cross_entropy(r.output, labels, label_smoothing);
  r.loss = loss.item();
  if (!std::isfinite(r.loss)) return r;
  opt.zero_grad();
  loss.backward();
  opt.step();
  if (sched) sched->step_batch();
  r.stepped = true;
  return r;
}

}  // namespace minidl::train

// OneCycleLR (Smith & Topin, "Super-Convergence"), with torch.optim.lr_scheduler.OneCycleLR's
// exact schedule, stepped after every batch:
//   initial_lr = max_lr / div_factor,  min_lr = initial_lr / final_div_factor
//   two phases:   initial_lr -> max_lr over steps [0, pct_start*T - 1], then max_lr -> min_lr until T - 1
//   three_phase:  initial -> max, max -> initial (ends at 2*pct_start*T - 2), initial -> min
// momentum (SGD's momentum / Adam's beta1) cycles the other way between max_momentum and
// base_momentum when cycle_momentum is on. Annealing is cosine or linear; within a phase at
// fraction f: cos: end + (start - end) / 2 * (1 + cos(pi f)),  linear: start + (end - start) f.
// Tiny schedules (pct_start * T <= 1, e.g. 4 steps) differ from torch, which divides by zero
// there: a phase with no steps is skipped, so the first step runs at max_lr.
#pragma once
#include <cstdint>

#include "optim/lr_scheduler.h"
#include "core/options.h"

namespace minidl::optim {

class OneCycleOptions {
 public:
  OneCycleOptions(double max_lr, int64_t total_steps) : max_lr_(max_lr), total_steps_(total_steps) {}
  // total_steps = epochs * steps_per_epoch, as torch allows.
  OneCycleOptions(double max_lr, int64_t epochs, int64_t steps_per_epoch)
      : max_lr_(max_lr), total_steps_(epochs * steps_per_epoch) {}
  MINIDL_ARG(double, max_lr, 0.1)
  MINIDL_ARG(int64_t, total_steps, 0)
  MINIDL_ARG(double, pct_start, 0.3)
  MINIDL_ARG(bool, cos_anneal, true)  // false: linear ('anneal_strategy')
  MINIDL_ARG(bool, cycle_momentum, true)
  MINIDL_ARG(double, base_momentum, 0.85)
  MINIDL_ARG(double, max_momentum, 0.95)
  MINIDL_ARG(double, div_factor, 25.0)
  MINIDL_ARG(double, final_div_factor, 1e4)
  MINIDL_ARG(bool, three_phase, false)
};

class OneCycleLR : public LRScheduler {
 public:
  // Sets the optimizer's lr (and momentum) to their step-0 values, like torch's constructor.
  OneCycleLR(Optimizer& opt, const OneCycleOptions& options);
  void step();
  void step_batch() override { step(); }
  std::string name() const override { return "OneCycleLR"; }
  void load_state_dict(const std::map<std::string, double>& s) override;

  // The learning rate and momentum the schedule gives at step t (0 <= t <= total_steps).
  double lr_at(int64_t t) const;
  double momentum_at(int64_t t) const;

 private:
  struct Phase {
    double end_step, start_lr, end_lr, start_m, end_m;
  };
  double at(int64_t t, bool momentum) const;
  void apply();
  OneCycleOptions o_;
  std::vector<Phase> phases_;
};

}  // namespace minidl::optim

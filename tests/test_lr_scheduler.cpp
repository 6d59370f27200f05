// LR schedules against torch.optim.lr_scheduler (values from tests/reference/optim_reference.py).
#include <catch2/catch.hpp>

#include <cmath>

#include "optim/lr_scheduler.h"
#include "optim/onecycle.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::optim;

namespace {
Tensor param() { return zeros({1}).requires_grad_(); }
struct Point {
  int64_t step;
  double lr, momentum;
};
void check_points(OneCycleLR& s, const std::vector<Point>& pts) {
  for (const Point& p : pts) {
    INFO("step " << p.step);
    CHECK(s.lr_at(p.step) == Approx(p.lr).epsilon(1e-12).margin(1e-15));
    CHECK(s.momentum_at(p.step) == Approx(p.momentum).epsilon(1e-12));
  }
}
}  // namespace

TEST_CASE("OneCycleLR matches torch at the first step, the peak and the last step", "[scheduler]") {
  {  // cos annealing, defaults: max_lr 0.1, 100 steps
    SGD opt({param()}, SGDOptions(1.0).momentum(0.9));
    OneCycleLR s(opt, OneCycleOptions(0.1, 100));
    CHECK(opt.lr() == Approx(0.004));  // the constructor sets the step-0 values
    CHECK(opt.momentum() == Approx(0.95));
    check_points(s, {{0, 0.0040000000000000036, 0.95},
                     {1, 0.004281378056590748, 0.9497068978577179},
                     {29, 0.1, 0.85},
                     {99, 4e-07, 0.95},
                     {100, 5.074647154757325e-05, 0.9499496533270657}});
    for (int i = 0; i < 29; ++i) s.step();
    CHECK(opt.lr() == Approx(0.1));
    CHECK(opt.momentum() == Approx(0.85));
  }
  {  // the resnet9 reference recipe: Adam, 24 epochs x 10 steps, peak at epoch 5, linear, div 100
    Adam opt({param()}, AdamOptions(1.0));
    OneCycleLR s(opt, OneCycleOptions(0.02, 24, 10).pct_start(5.0 / 24).div_factor(100).final_div_factor(100).cos_anneal(false));
    check_points(s, {{0, 0.0002, 0.95},
                     {1, 0.0006040816326530613, 0.9479591836734693},
                     {49, 0.02, 0.85},
                     {239, 1.9999999999985307e-06, 0.95},
                     {240, -0.00010325263157895045, 0.9505263157894737}});
    s.step();
    CHECK(opt.momentum() == Approx(0.9479591836734693));  // Adam's beta1 cycles
  }
  {  // three phases
    SGD opt({param()}, SGDOptions(1.0).momentum(0.9));
    OneCycleLR s(opt, OneCycleOptions(0.5, 50).pct_start(0.25).three_phase(true));
    check_points(s, {{0, 0.020000000000000018, 0.95},
                     {1, 0.028899851036528146, 0.9481458643673899},
                     {11, 0.4977646270487194, 0.8504657026981834},
                     {49, 2e-06, 0.95},
                     {50, 7.490396789355832e-05, 0.95}});
  }
}

TEST_CASE("OneCycleLR refuses to step past total_steps", "[scheduler][errors]") {
  SGD opt({param()}, SGDOptions(1.0).momentum(0.9));
  OneCycleLR s(opt, OneCycleOptions(0.1, 3));
  for (int i = 0; i < 3; ++i) s.step();
  CHECK_THROWS_WITH(s.step(), Catch::Contains("total_steps is 3"));
}

TEST_CASE("OneCycleLR works for tiny schedules: 1 to 4 steps, any pct_start", "[scheduler]") {
  // torch divides by zero when the warm-up is shorter than a step (pct_start * T <= 1); minidl
  // skips a phase with no steps. Every step's rate must be finite and within [min, max].
  for (const bool three_phase : {false, true}) {
    for (int64_t total = 1; total <= 4; ++total) {
      for (const double pct : {0.01, 0.1, 0.25, 0.3, 0.5, 0.75, 0.99}) {
        INFO("total " << total << " pct_start " << pct << " three_phase " << three_phase);
        SGD opt({param()}, SGDOptions(1.0).momentum(0.9));
        OneCycleLR s(opt, OneCycleOptions(0.2, total).pct_start(pct).three_phase(three_phase));
        const double initial = 0.2 / 25, min_lr = initial / 1e4;
        for (int64_t t = 0; t <= total; ++t) {
          const double lr = s.lr_at(t), m = s.momentum_at(t);
          CHECK(std::isfinite(lr));
          CHECK(lr >= min_lr * (1 - 1e-12));
          CHECK(lr <= 0.2 * (1 + 1e-12));
          CHECK(m >= 0.85 - 1e-12);
          CHECK(m <= 0.95 + 1e-12);
        }
        // With no warm-up step the cycle starts at its peak and anneals from there.
        if (pct * total <= 1 && !three_phase) {
          CHECK(s.lr_at(0) == Approx(0.2));
          CHECK(s.lr_at(total - 1) <= s.lr_at(0) + 1e-12);
        }
      }
    }
  }
  // 4 steps, pct_start 0.25: the warm-up ends at step 0 (no steps), then cosine from max to min.
  SGD opt({param()}, SGDOptions(1.0).momentum(0.9));
  OneCycleLR s(opt, OneCycleOptions(0.2, 4).pct_start(0.25));
  CHECK(s.lr_at(0) == Approx(0.2));
  CHECK(s.lr_at(3) == Approx(0.2 / 25 / 1e4));
  CHECK(s.lr_at(1) > s.lr_at(2));
}

TEST_CASE("StepLR and MultiStepLR match torch", "[scheduler]") {
  SGD a({param()}, SGDOptions(1.0));
  StepLR step(a, 3, 0.5);
  SGD b({param()}, SGDOptions(1.0));
  MultiStepLR multi(b, {2, 5, 9}, 0.1);
  const std::vector<double> want_step = {1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625};
  const std::vector<double> want_multi = {1.0, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001};
  for (size_t e = 0; e < want_step.size(); ++e) {
    step.step_epoch(0.0);
    multi.step_epoch(0.0);
    CHECK(a.lr() == Approx(want_step[e]));
    CHECK(b.lr() == Approx(want_multi[e]));
  }
}

TEST_CASE("ReduceLROnPlateau matches torch", "[scheduler]") {
  SGD opt({param()}, SGDOptions(1.0));
  ReduceLROnPlateau s(opt, ReduceLROnPlateauOptions().factor(0.5).patience(2).cooldown(1));
  const std::vector<double> metrics = {1.0, 0.9, 0.95, 0.96, 0.97, 0.9, 0.91, 0.92, 0.93, 0.5, 0.6, 0.7};
  const std::vector<double> want = {1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25};
  for (size_t e = 0; e < metrics.size(); ++e) {
    s.step(metrics[e]);
    INFO("epoch " << e);
    CHECK(opt.lr() == Approx(want[e]));
  }
}

TEST_CASE("a schedule's learning rate is the one the optimizer reports and steps with", "[scheduler]") {
  // The learning rate lives in one place (Optimizer::lr_): the options an optimizer reports follow
  // the schedule, as torch's param_groups do.
  Tensor p = zeros({3}, TensorOptions().requires_grad(true));
  optim::SGD sgd({p}, optim::SGDOptions(0.1).momentum(0.9));
  optim::StepLR step(sgd, 1, 0.5);
  step.step_epoch(0.0);
  CHECK(sgd.lr() == 0.05);
  CHECK(sgd.options().lr() == 0.05);
  CHECK(sgd.options().momentum() == 0.9);
  optim::Adam adam({p}, optim::AdamOptions(0.01));
  adam.set_lr(0.002);
  CHECK(adam.options().lr() == 0.002);
}

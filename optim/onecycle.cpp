#include "optim/onecycle.h"

#include <algorithm>
#include <cmath>

namespace minidl::optim {

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleOptions& o) : LRScheduler(opt), o_(o) {
  MINIDL_CHECK(o.total_steps() > 0, "OneCycleLR: total_steps must be positive, got ", o.total_steps());
  MINIDL_CHECK(o.pct_start() > 0.0 && o.pct_start() < 1.0, "OneCycleLR: pct_start must be in (0, 1), got ",
               o.pct_start());
  const double T = static_cast<double>(o.total_steps());
  const double initial = o.max_lr() / o.div_factor(), min_lr = initial / o.final_div_factor();
  // torch's phase ends, made non-decreasing and >= 0: with few steps (pct_start * T <= 1) the
  // warm-up has no steps at all, and at() then starts at its end value instead of dividing by 0.
  const double up_end = std::max(0.0, o.pct_start() * T - 1);
  if (o.three_phase()) {
    const double down_end = std::max(up_end, 2 * o.pct_start() * T - 2);
    phases_ = {{up_end, initial, o.max_lr(), o.max_momentum(), o.base_momentum()},
               {down_end, o.max_lr(), initial, o.base_momentum(), o.max_momentum()},
               {std::max(down_end, T - 1), initial, min_lr, o.max_momentum(), o.max_momentum()}};
  } else {
    phases_ = {{up_end, initial, o.max_lr(), o.max_momentum(), o.base_momentum()},
               {std::max(up_end, T - 1), o.max_lr(), min_lr, o.base_momentum(), o.max_momentum()}};
  }
  apply();
}

double OneCycleLR::at(int64_t t, bool momentum) const {
  MINIDL_CHECK(t <= o_.total_steps(), "OneCycleLR: stepped ", t, " times but total_steps is ", o_.total_steps(),
               " (epochs x steps_per_epoch must cover the whole run)");
  double start_step = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (static_cast<double>(t) <= ph.end_step || i + 1 == phases_.size()) {
      // A phase of zero length (a tiny schedule) is already over: its end value.
      const double length = ph.end_step - start_step;
      const double pct = length > 0 ? (static_cast<double>(t) - start_step) / length : 1.0;
      const double a = momentum ? ph.start_m : ph.start_lr, b = momentum ? ph.end_m : ph.end_lr;
      return o_.cos_anneal() ? b + (a - b) / 2.0 * (std::cos(M_PI * pct) + 1.0) : (b - a) * pct + a;
    }
    start_step = ph.end_step;
  }
  return 0.0;  // unreachable: the last phase always matches
}

double OneCycleLR::lr_at(int64_t t) const { return at(t, false); }
double OneCycleLR::momentum_at(int64_t t) const { return at(t, true); }

void OneCycleLR::apply() {
  opt_.set_lr(lr_at(last_epoch_));
  if (o_.cycle_momentum()) opt_.set_momentum(momentum_at(last_epoch_));
}

void OneCycleLR::step() {
  ++last_epoch_;
  apply();
}

void OneCycleLR::load_state_dict(const std::map<std::string, double>& s) {
  LRScheduler::load_state_dict(s);
  apply();
}

}  // namespace minidl::optim

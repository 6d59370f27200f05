#include "optim/onecycle.h"

#include <cmath>

namespace minidl::optim {

OneCycleLR::OneCycleLR(Optimizer& opt, const OneCycleOptions& o) : LRScheduler(opt), o_(o) {
  MINIDL_CHECK(o.total_steps() > 0, "OneCycleLR: total_steps must be positive, got ", o.total_steps());
  MINIDL_CHECK(o.pct_start() > 0.0 && o.pct_start() < 1.0, "OneCycleLR: pct_start must be in (0, 1), got ",
               o.pct_start());
  const double T = static_cast<double>(o.total_steps());
  const double initial = o.max_lr() / o.div_factor(), min_lr = initial / o.final_div_factor();
  const double up_end = o.pct_start() * T - 1;
  if (o.three_phase()) {
    phases_ = {{up_end, initial, o.max_lr(), o.max_momentum(), o.base_momentum()},
               {2 * o.pct_start() * T - 2, o.max_lr(), initial, o.base_momentum(), o.max_momentum()},
               {T - 1, initial, min_lr, o.max_momentum(), o.max_momentum()}};
  } else {
    phases_ = {{up_end, initial, o.max_lr(), o.max_momentum(), o.base_momentum()},
               {T - 1, o.max_lr(), min_lr, o.base_momentum(), o.max_momentum()}};
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
      const double pct = (static_cast<double>(t) - start_step) / (ph.end_step - start_step);
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

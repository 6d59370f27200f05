#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace minidl::optim {

void LRScheduler::load_state_dict(const std::map<std::string, double>& s) {
  auto it = s.find("last_epoch");
  MINIDL_CHECK(it != s.end(), name(), " load_state_dict: missing 'last_epoch'");
  last_epoch_ = static_cast<int64_t>(it->second);
}

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma) : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  MINIDL_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
}

void StepLR::step() {
  ++last_epoch_;
  opt_.set_lr(base_lr_ * std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_)));
}

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(opt), milestones_(std::move(milestones)), gamma_(gamma) {
  MINIDL_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR: milestones must be increasing");
}

void MultiStepLR::step() {
  ++last_epoch_;
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  opt_.set_lr(base_lr_ * std::pow(gamma_, static_cast<double>(passed)));
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, const ReduceLROnPlateauOptions& o) : LRScheduler(opt), o_(o) {
  MINIDL_CHECK(o.factor() < 1.0 && o.factor() > 0.0, "ReduceLROnPlateau: factor must be in (0, 1), got ", o.factor());
  const double inf = std::numeric_limits<double>::infinity();
  best_ = o.mode() == PlateauMode::Min ? inf : -inf;
}

bool ReduceLROnPlateau::is_better(double a) const {
  const double t = o_.threshold();
  if (o_.mode() == PlateauMode::Min) return o_.relative_threshold() ? a < best_ * (1.0 - t) : a < best_ - t;
  return o_.relative_threshold() ? a > best_ * (1.0 + t) : a > best_ + t;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // ignore bad epochs while cooling down
  }
  if (num_bad_epochs_ > o_.patience()) {
    const double old_lr = opt_.lr(), new_lr = std::max(old_lr * o_.factor(), o_.min_lr());
    if (old_lr - new_lr > o_.eps()) opt_.set_lr(new_lr);
    cooldown_counter_ = o_.cooldown();
    num_bad_epochs_ = 0;
  }
}

std::map<std::string, double> ReduceLROnPlateau::state_dict() const {
  return {{"last_epoch", double(last_epoch_)},
          {"best", best_},
          {"num_bad_epochs", double(num_bad_epochs_)},
          {"cooldown_counter", double(cooldown_counter_)}};
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, double>& s) {
  LRScheduler::load_state_dict(s);
  for (const char* k : {"best", "num_bad_epochs", "cooldown_counter"})
    MINIDL_CHECK(s.count(k), "ReduceLROnPlateau load_state_dict: missing '", k, "'");
  best_ = s.at("best");
  num_bad_epochs_ = static_cast<int64_t>(s.at("num_bad_epochs"));
  cooldown_counter_ = static_cast<int64_t>(s.at("cooldown_counter"));
}

}  // namespace minidl::optim

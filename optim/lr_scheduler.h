// Learning-rate schedules with torch.optim.lr_scheduler's semantics, so recipes carry over.
// A training loop calls step_batch() after every optimizer step and step_epoch(val_loss) after
// every epoch; each schedule acts on the one it is defined for (OneCycleLR per batch, the others
// per epoch), so the loop does not need to know which one it has.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/options.h"
#include "optim/optimizer.h"

namespace minidl::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& opt) : opt_(opt), base_lr_(opt.lr()) {}
  virtual ~LRScheduler() = default;
  virtual void step_batch() {}
  virtual void step_epoch(double /*val_loss*/) {}
  virtual std::string name() const = 0;
  virtual std::map<std::string, double> state_dict() const { return {{"last_epoch", double(last_epoch_)}}; }
  virtual void load_state_dict(const std::map<std::string, double>& s);
  int64_t last_epoch() const { return last_epoch_; }

 protected:
  Optimizer& opt_;
  double base_lr_;
  int64_t last_epoch_ = 0;  // steps taken (torch's last_epoch)
};

// lr = base_lr * gamma^(epoch / step_size)   (integer division), stepped per epoch.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);
  void step();
  void step_epoch(double) override { step(); }
  std::string name() const override { return "StepLR"; }

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base_lr * gamma^(number of milestones <= epoch), stepped per epoch.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma = 0.1);
  void step();
  void step_epoch(double) override { step(); }
  std::string name() const override { return "MultiStepLR"; }

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// Divides lr by 1/factor when the metric has not improved (by more than threshold, relative or
// absolute) for more than `patience` epochs; then waits `cooldown` epochs. Never below min_lr.
//   ReduceLROnPlateau(opt, ReduceLROnPlateauOptions().factor(0.5).patience(2))   (torch's defaults otherwise)
enum class PlateauMode { Min, Max };
class ReduceLROnPlateauOptions {
  MINIDL_ARG(PlateauMode, mode, PlateauMode::Min)
  MINIDL_ARG(double, factor, 0.1)
  MINIDL_ARG(int64_t, patience, 10)
  MINIDL_ARG(double, threshold, 1e-4)
  MINIDL_ARG(bool, relative_threshold, true)  // torch's threshold_mode='rel' (false: 'abs')
  MINIDL_ARG(int64_t, cooldown, 0)
  MINIDL_ARG(double, min_lr, 0.0)
  MINIDL_ARG(double, eps, 1e-8)
};

class ReduceLROnPlateau : public LRScheduler {
 public:
  explicit ReduceLROnPlateau(Optimizer& opt, const ReduceLROnPlateauOptions& options = {});
  void step(double metric);
  void step_epoch(double val_loss) override { step(val_loss); }
  std::string name() const override { return "ReduceLROnPlateau"; }
  std::map<std::string, double> state_dict() const override;
  void load_state_dict(const std::map<std::string, double>& s) override;

 private:
  bool is_better(double a) const;
  ReduceLROnPlateauOptions o_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace minidl::optim

#include "apps/train/config.h"

#include <set>

#include "core/error.h"

namespace minidl::train {
namespace {
void one_of(const std::string& flag, const std::string& v, const std::set<std::string>& allowed) {
  if (allowed.count(v)) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  MINIDL_FAIL(flag, " '", v, "': expected one of ", list);
}
}  // namespace

void TrainConfig::validate() const {
  one_of("--norm", norm, {"batch", "group", "layer", "all"});
  one_of("--optimizer", optimizer, {"sgd", "adam", "adamw"});
  one_of("--scheduler", scheduler, {"none", "step", "onecycle", "plateau"});
  one_of("--augment", augment, {"none", "flip-crop", "flip-crop-cutout"});
  one_of("--device", device, {"auto", "cpu", "cuda"});
  one_of("--anneal", anneal, {"cos", "linear"});
  MINIDL_CHECK(epochs >= 0, "--epochs must be >= 0, got ", epochs);
  MINIDL_CHECK(batch_size > 0, "--batch-size must be positive, got ", batch_size);
  MINIDL_CHECK(lr > 0, "--lr must be positive, got ", lr);
  MINIDL_CHECK(max_lr > 0, "--max-lr must be positive, got ", max_lr);
  MINIDL_CHECK(pct_start > 0 && pct_start < 1, "--pct-start must be in (0, 1), got ", pct_start);
  MINIDL_CHECK(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got ", momentum);
  MINIDL_CHECK(weight_decay >= 0, "--weight-decay must be >= 0, got ", weight_decay);
  MINIDL_CHECK(label_smoothing >= 0 && label_smoothing < 1, "--label-smoothing must be in [0, 1), got ", label_smoothing);
  MINIDL_CHECK(threads >= 0, "--threads must be >= 0, got ", threads);
  MINIDL_CHECK(workers >= 0, "--workers must be >= 0, got ", workers);
  MINIDL_CHECK(limit_train != 0, "--limit-train must be positive (or -1 for all), got 0");
  MINIDL_CHECK(!(resume.size() && norm == "all"), "--resume continues one run; it cannot be combined with --norm all");
}

// One list of (name, field) pairs drives both directions, so they cannot drift apart.
#define MINIDL_CONFIG_FIELDS(X)                                                                       \
  X(model) X(norm) X(groups) X(dropout) X(epochs) X(batch_size) X(optimizer) X(lr) X(momentum)        \
  X(nesterov) X(weight_decay) X(scheduler) X(max_lr) X(pct_start) X(div_factor) X(final_div_factor)  \
  X(three_phase) X(anneal) X(step_size) X(gamma) X(lr_find) X(augment) X(label_smoothing) X(device)  \
  X(data) X(out) X(seed) X(threads) X(workers) X(limit_train) X(resume) X(stop_after)

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j;
#define X(f) j[#f] = c.f;
  MINIDL_CONFIG_FIELDS(X)
#undef X
  return j;
}

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
#define X(f) if (j.contains(#f)) j.at(#f).get_to(c.f);
  MINIDL_CONFIG_FIELDS(X)
#undef X
  return c;
}

}  // namespace minidl::train

#include "apps/train/config.h"

#include <cmath>
#include <set>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "layers/models/zoo.h"

namespace minidl::train {
namespace {

void one_of(const std::string& flag, const std::string& v, const std::set<std::string>& allowed) {
  if (allowed.count(v)) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  MINIDL_FAIL(flag, " '", v, "': expected one of ", list);
}

// A finite number in [lo, hi] (open ends where the flag says so); names the flag and the range.
void in_range(const char* flag, double v, double lo, double hi, bool lo_open, bool hi_open) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  MINIDL_CHECK(ok, flag, " must be a finite number in ", lo_open ? "(" : "[", lo, ", ", hi, hi_open ? ")" : "]",
               ", got ", v);
}

// Upper bounds that keep every derived count (steps = epochs x batches) far from overflowing.
constexpr int64_t kMaxEpochs = 100000, kMaxBatch = 1 << 20;

}  // namespace

void Recipe::validate() const {
  const std::vector<std::string> models = models::model_names();
  one_of("--model", model, std::set<std::string>(models.begin(), models.end()));
  one_of("--norm", norm, {"batch", "group", "layer", "all"});
  one_of("--optimizer", optimizer, {"sgd", "adam", "adamw"});
  one_of("--scheduler", scheduler, {"none", "step", "onecycle", "plateau"});
  one_of("--augment", augment, {"none", "flip-crop", "flip-crop-cutout"});
  one_of("--pad-fill", pad_fill, {"zero", "mean"});
  one_of("--anneal", anneal, {"cos", "linear"});
  MINIDL_CHECK(groups >= 0 && groups <= 1 << 16, "--groups must be in [0, 65536] (0: the model's default), got ", groups);
  MINIDL_CHECK(std::isfinite(dropout) && dropout < 1, "--dropout must be a finite number below 1 (negative: the "
               "model's default), got ", dropout);
  MINIDL_CHECK(epochs >= 0 && epochs <= kMaxEpochs, "--epochs must be in [0, ", kMaxEpochs, "], got ", epochs);
  MINIDL_CHECK(batch_size > 0 && batch_size <= kMaxBatch, "--batch-size must be in [1, ", kMaxBatch, "], got ",
               batch_size);
  in_range("--lr", lr, 0, 1e6, true, false);
  in_range("--momentum", momentum, 0, 1, false, true);
  in_range("--weight-decay", weight_decay, 0, 1e6, false, false);
  in_range("--max-lr", max_lr, 0, 1e6, true, false);
  in_range("--pct-start", pct_start, 0, 1, true, true);
  in_range("--div-factor", div_factor, 0, 1e12, true, false);
  in_range("--final-div-factor", final_div_factor, 0, 1e12, true, false);
  MINIDL_CHECK(step_size >= 1 && step_size <= kMaxEpochs, "--step-size must be in [1, ", kMaxEpochs, "], got ",
               step_size);
  // StepLR may keep the rate (gamma 1); ReduceLROnPlateau must lower it.
  if (scheduler == "plateau") in_range("--gamma", gamma, 0, 1, true, true);
  else in_range("--gamma", gamma, 0, 1, true, false);
  in_range("--label-smoothing", label_smoothing, 0, 1, false, true);
  MINIDL_CHECK(limit_train == -1 || limit_train > 0, "--limit-train must be positive (or -1 for all), got ",
               limit_train);
  MINIDL_CHECK(!data.empty(), "--data must name the CIFAR-10 folder");
}

void Environment::validate() const {
  one_of("--device", device, {"auto", "cpu", "cuda"});
  MINIDL_CHECK(threads >= 0 && threads <= 1024, "--threads must be in [0, 1024] (0: all cores), got ", threads);
  MINIDL_CHECK(workers >= 0 && workers <= 64, "--workers must be in [0, 64], got ", workers);
  MINIDL_CHECK(stop_after == -1 || stop_after > 0, "--stop-after must be positive (or -1: never), got ", stop_after);
}

namespace {
// What each schedule and optimizer reads. OneCycle sets the rate at every step (from --max-lr /
// --div-factor up to --max-lr, then down), so the optimizer's --lr is never used, as in PyTorch's
// OneCycleLR; --lr-find replaces --lr (or --max-lr with onecycle) by its pick.
bool reads(const Recipe& r, const std::string& key) {
  const bool onecycle = r.scheduler == "onecycle";
  if (key == "lr") return !onecycle && !r.lr_find;
  if (key == "max_lr") return onecycle && !r.lr_find;
  if (key == "pct_start" || key == "div_factor" || key == "final_div_factor" || key == "three_phase" || key == "anneal")
    return onecycle;
  if (key == "step_size") return r.scheduler == "step";
  if (key == "gamma") return r.scheduler == "step" || r.scheduler == "plateau";
  if (key == "momentum" || key == "nesterov") return r.optimizer == "sgd";
  if (key == "pad_fill") return r.augment != "none";
  return true;
}
std::string why_unread(const Recipe& r, const std::string& key) {
  if ((key == "lr" || key == "max_lr") && r.lr_find) return "--lr-find picks it";
  if (key == "lr") return "--scheduler onecycle sets the rate at every step (from --max-lr / --div-factor up to "
                          "--max-lr and down); set --max-lr, or choose --scheduler none, step or plateau";
  if (key == "momentum" || key == "nesterov") return "--optimizer " + r.optimizer + " has no momentum of its own";
  if (key == "pad_fill") return "--augment none does not crop";
  return "--scheduler " + r.scheduler + " does not read it";
}
}  // namespace

std::vector<std::string> unread_flags(const Recipe& r, const std::set<std::string>& given) {
  std::vector<std::string> out;
  for (const RecipeField& f : recipe_fields())
    if (given.count(f.key) && !reads(r, f.key)) out.push_back(std::string(f.flag) + ": " + why_unread(r, f.key));
  return out;
}

std::string flags_read_help() {
  return "  --scheduler onecycle  --max-lr, --pct-start, --div-factor, --final-div-factor, --three-phase, --anneal\n"
         "                       (not --lr: OneCycle sets the rate at every step, as PyTorch's OneCycleLR does)\n"
         "  --scheduler step      --lr, --step-size, --gamma\n"
         "  --scheduler plateau   --lr, --gamma (patience 2 epochs, on the test loss)\n"
         "  --scheduler none      --lr\n"
         "  --optimizer sgd       --momentum, --nesterov (adam and adamw read neither)\n"
         "  --lr-find             replaces --lr (--max-lr with onecycle) by its pick\n"
         "A flag the recipe does not read is refused rather than ignored.\n";
}

// One list of (key, flag) pairs; X(field, flag).
#define MINIDL_RECIPE_FIELDS(X)                                                                                 \
  X(model, "--model") X(norm, "--norm") X(groups, "--groups") X(dropout, "--dropout")                           \
  X(weight_std, "--weight-std") X(epochs, "--epochs")                                                           \
  X(batch_size, "--batch-size") X(optimizer, "--optimizer") X(lr, "--lr") X(momentum, "--momentum")             \
  X(nesterov, "--nesterov") X(weight_decay, "--weight-decay") X(scheduler, "--scheduler") X(max_lr, "--max-lr") \
  X(pct_start, "--pct-start") X(div_factor, "--div-factor") X(final_div_factor, "--final-div-factor")           \
  X(three_phase, "--three-phase") X(anneal, "--anneal") X(step_size, "--step-size") X(gamma, "--gamma")         \
  X(lr_find, "--lr-find") X(augment, "--augment") X(pad_fill, "--pad-fill") X(label_smoothing, "--label-smoothing") X(seed, "--seed")     \
  X(limit_train, "--limit-train") X(data, "--data") X(data_fingerprint, "")

const std::vector<RecipeField>& recipe_fields() {
  static const std::vector<RecipeField> fields = {
#define X(f, flag) {#f, flag},
      MINIDL_RECIPE_FIELDS(X)
#undef X
  };
  return fields;
}

nlohmann::json to_json(const Recipe& r) {
  nlohmann::json j;
#define X(f, flag) j[#f] = r.f;
  MINIDL_RECIPE_FIELDS(X)
#undef X
  return j;
}

nlohmann::json to_json(const Environment& e) {
  return {{"device", e.device}, {"out", e.out}, {"threads", e.threads}, {"workers", e.workers}};
}

namespace {
// Reads j[key] into v, naming the file and the field when it is missing or of the wrong type.
// Fields added after the first saved recipes: absent means what those runs did.
bool optional_field(const char* key) { return std::string(key) == "weight_std" || std::string(key) == "pad_fill"; }

template <class T>
void field(const nlohmann::json& j, const char* key, T& v, const std::string& where) {
  if (!j.contains(key) && optional_field(key)) return;  // keeps the struct's default (the old behaviour)
  MINIDL_CHECK(j.contains(key), where, ": the saved recipe lacks the field '", key, "'");
  const nlohmann::json& x = j.at(key);
  bool ok;
  if constexpr (std::is_same_v<T, std::string>) ok = x.is_string();
  else if constexpr (std::is_same_v<T, bool>) ok = x.is_boolean();
  else if constexpr (std::is_same_v<T, uint64_t>) ok = x.is_number_unsigned();
  else if constexpr (std::is_integral_v<T>) ok = x.is_number_integer();
  else ok = x.is_number();  // doubles: JSON has no inf/nan, so a saved value is always finite
  MINIDL_CHECK(ok, where, ": the saved recipe's field '", key, "' has the wrong type (", x.dump(), ")");
  v = x.get<T>();
}
}  // namespace

Recipe recipe_from_json(const nlohmann::json& j, const std::string& where) {
  MINIDL_CHECK(j.is_object(), where, ": the saved recipe is not a JSON object");
  Recipe r;
#define X(f, flag) field(j, #f, r.f, where);
  MINIDL_RECIPE_FIELDS(X)
#undef X
  try {
    r.validate();
  } catch (const Error& e) {
    MINIDL_FAIL(where, ": the saved recipe is invalid: ", e.what());
  }
  return r;
}

std::string flag_value(const Recipe& r, const std::string& key) {
  const nlohmann::json v = to_json(r).at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {  // the shortest text that reads back as the same double
    const double d = v.get<double>();
    char buf[32];
    for (int precision = 6; precision <= 17; ++precision) {
      std::snprintf(buf, sizeof buf, "%.*g", precision, d);
      if (std::strtod(buf, nullptr) == d) break;
    }
    return buf;
  }
  return v.dump();
}

std::string shell_quote(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789_-./:=+,@%") == std::string::npos;
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string command_for(const Recipe& r, const Environment& e) {
  const Recipe defaults;
  std::string cmd = shell_quote(e.program);
  for (const RecipeField& f : recipe_fields()) {
    const std::string key = f.key;
    if (!*f.flag || key == "data" || flag_value(r, key) == flag_value(defaults, key)) continue;
    if (key == "three_phase" || key == "lr_find") {  // plain switches
      if (flag_value(r, key) == "true") cmd += std::string(" ") + f.flag;
      continue;
    }
    cmd += std::string(" ") + f.flag + " " + shell_quote(flag_value(r, key));
  }
  cmd += " --data " + shell_quote(r.data);
  if (!e.out.empty()) cmd += " --out " + shell_quote(e.out);
  return cmd + environment_flags(e);
}

std::string environment_flags(const Environment& e) {
  const Environment defaults;
  std::string s;
  if (e.device != defaults.device) s += " --device " + shell_quote(e.device);
  if (e.threads != defaults.threads) s += " --threads " + std::to_string(e.threads);
  if (e.workers != defaults.workers) s += " --workers " + std::to_string(e.workers);
  return s;
}

}  // namespace minidl::train

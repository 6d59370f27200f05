#include "apps/train/checkpoint.h"

#include "core/random.h"

namespace minidl::train {
namespace {
const std::string kModel = "model.", kOptim = "optimizer.";

std::map<std::string, double> scalars_from(const nlohmann::json& j) {
  std::map<std::string, double> m;
  for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = it.value().get<double>();
  return m;
}
}  // namespace

void save_checkpoint(const std::string& out_dir, const TrainConfig& config, int64_t epoch, const nn::Module& model,
                     const optim::Optimizer& opt, const optim::LRScheduler* sched, const nlohmann::json& history,
                     const nlohmann::json& extra) {
  const NamedTensors weights = model.state_dict();
  const optim::OptimizerState os = opt.state_dict();
  NamedTensors all;
  for (const auto& [name, t] : weights) all.emplace_back(kModel + name, t);
  for (const auto& [name, t] : os.tensors) all.emplace_back(kOptim + name, t);
  const Generator& gen = default_generator();
  Metadata meta = {
      {"format", "pt"},  // what safetensors' PyTorch loader expects
      {"minidl_checkpoint", "1"},
      {"epoch", std::to_string(epoch)},
      {"config", to_json(config).dump()},
      {"optimizer", nlohmann::json(os.scalars).dump()},
      {"scheduler", sched ? nlohmann::json(sched->state_dict()).dump() : "{}"},
      {"generator", nlohmann::json{{"seed", gen.seed()}, {"offset", gen.offset()}}.dump()},
      {"history", history.dump()},
      {"extra", extra.dump()},
  };
  save_safetensors(out_dir + "/checkpoint.safetensors", all, meta);
  save_safetensors(out_dir + "/model.safetensors", weights,
                   {{"format", "pt"}, {"model", config.model}, {"norm", config.norm}, {"epoch", std::to_string(epoch)}});
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint c;
  c.file = load_safetensors(path);
  const Metadata& m = c.file.metadata;
  MINIDL_CHECK(m.count("minidl_checkpoint"), path, ": not a train_cifar checkpoint (no minidl_checkpoint metadata; "
               "model.safetensors holds weights only, resume from checkpoint.safetensors)");
  for (const char* key : {"epoch", "config", "optimizer", "scheduler", "generator", "history"})
    MINIDL_CHECK(m.count(key), path, ": checkpoint metadata lacks '", key, "'");
  try {
    c.config = config_from_json(nlohmann::json::parse(m.at("config")));
    c.epoch = std::stoll(m.at("epoch"));
    c.history = nlohmann::json::parse(m.at("history"));
    c.extra = m.count("extra") ? nlohmann::json::parse(m.at("extra")) : nlohmann::json::object();
  } catch (const nlohmann::json::exception& e) {
    MINIDL_FAIL(path, ": corrupt checkpoint metadata (", e.what(), ")");
  }
  return c;
}

void restore_checkpoint(const Checkpoint& c, nn::Module& model, optim::Optimizer& opt, optim::LRScheduler* sched) {
  NamedTensors weights;
  optim::OptimizerState os;
  for (const auto& [name, t] : c.file.tensors) {
    if (name.rfind(kModel, 0) == 0) weights.emplace_back(name.substr(kModel.size()), t);
    else if (name.rfind(kOptim, 0) == 0) os.tensors.emplace_back(name.substr(kOptim.size()), t);
  }
  model.load_state_dict(weights);
  const Metadata& m = c.file.metadata;
  os.scalars = scalars_from(nlohmann::json::parse(m.at("optimizer")));
  opt.load_state_dict(os);
  if (sched) sched->load_state_dict(scalars_from(nlohmann::json::parse(m.at("scheduler"))));
  const auto g = nlohmann::json::parse(m.at("generator"));
  default_generator().set_state(g.at("seed").get<uint64_t>(), g.at("offset").get<uint64_t>());
}

}  // namespace minidl::train

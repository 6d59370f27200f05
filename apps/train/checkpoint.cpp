#include "apps/train/checkpoint.h"

#include <charconv>

#include "core/random.h"

namespace minidl::train {
namespace {
const std::string kModel = "model.", kOptim = "optimizer.";

// "field" of the metadata as JSON, naming the file and the field when it is missing or broken.
nlohmann::json meta_json(const Metadata& m, const std::string& key, const std::string& path) {
  MINIDL_CHECK(m.count(key), path, ": checkpoint metadata lacks the field '", key, "'");
  try {
    return nlohmann::json::parse(m.at(key));
  } catch (const nlohmann::json::exception&) {
    MINIDL_FAIL(path, ": checkpoint metadata field '", key, "' is not valid JSON: ", m.at(key).substr(0, 80));
  }
}

int64_t meta_int(const Metadata& m, const std::string& key, const std::string& path) {
  MINIDL_CHECK(m.count(key), path, ": metadata lacks the field '", key, "'");
  const std::string& s = m.at(key);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  MINIDL_CHECK(ec == std::errc() && end == s.data() + s.size(), path, ": metadata field '", key,
               "' must be an integer, got '", s, "'");
  return v;
}

std::map<std::string, double> scalars_from(const nlohmann::json& j, const std::string& key, const std::string& path) {
  MINIDL_CHECK(j.is_object(), path, ": checkpoint metadata field '", key, "' must be an object of numbers");
  std::map<std::string, double> m;
  for (auto it = j.begin(); it != j.end(); ++it) {
    MINIDL_CHECK(it.value().is_number(), path, ": checkpoint metadata field '", key, "': '", it.key(),
                 "' must be a number, got ", it.value().dump());
    m[it.key()] = it.value().get<double>();
  }
  return m;
}

Metadata model_metadata(const Recipe& recipe, int64_t epoch) {
  return {{"format", "pt"}, {"model", recipe.model}, {"norm", recipe.norm},
          {"epoch", std::to_string(epoch)}, {"recipe", to_json(recipe).dump()}};
}
}  // namespace

void save_checkpoint(const std::string& out_dir, const Recipe& recipe, int64_t epoch, const nn::Module& model,
                     const optim::Optimizer& opt, const optim::LRScheduler* sched, const nlohmann::json& history,
                     const nlohmann::json& extra) {
  const NamedTensors weights = model.state_dict();
  const optim::OptimizerState os = opt.state_dict();
  NamedTensors all;
  for (const auto& [name, t] : weights) all.emplace_back(kModel + name, t);
  for (const auto& [name, t] : os.tensors) all.emplace_back(kOptim + name, t);
  const Generator& gen = default_generator();
  const Metadata meta = {
      {"format", "pt"},  // what safetensors' PyTorch loader expects
      {"minidl_checkpoint", "2"},
      {"epoch", std::to_string(epoch)},
      {"recipe", to_json(recipe).dump()},
      {"optimizer", nlohmann::json(os.scalars).dump()},
      {"scheduler", sched ? nlohmann::json(sched->state_dict()).dump() : "{}"},
      {"generator", nlohmann::json{{"seed", gen.seed()}, {"offset", gen.offset()}}.dump()},
      {"history", history.dump()},
      {"extra", extra.dump()},
  };
  save_safetensors(out_dir + "/checkpoint.safetensors", all, meta);
  save_safetensors(out_dir + "/model.safetensors", weights, model_metadata(recipe, epoch));
}

void save_model_file(const std::string& out_dir, const Recipe& recipe, int64_t epoch, const nn::Module& model) {
  save_safetensors(out_dir + "/model.safetensors", model.state_dict(), model_metadata(recipe, epoch));
}

Checkpoint read_checkpoint(const std::string& path) {
  Checkpoint c;
  c.path = path;
  c.file = load_safetensors(path);
  const Metadata& m = c.file.metadata;
  MINIDL_CHECK(m.count("minidl_checkpoint"), path, ": not a train_cifar checkpoint (no minidl_checkpoint metadata; "
               "model.safetensors holds weights only, resume from checkpoint.safetensors or the run folder)");
  // Version 1 (before the recipe/environment split) saved the whole config as "config".
  const bool v1 = m.at("minidl_checkpoint") == "1";
  MINIDL_CHECK(v1 || m.at("minidl_checkpoint") == "2", path, ": checkpoint format version '",
               m.at("minidl_checkpoint"), "' is newer than this train_cifar understands (1 or 2)");
  nlohmann::json recipe = meta_json(m, v1 ? "config" : "recipe", path);
  if (v1 && recipe.is_object()) recipe["data_fingerprint"] = "";  // not recorded then
  c.recipe = recipe_from_json(recipe, path);
  c.epoch = meta_int(m, "epoch", path);
  MINIDL_CHECK(c.epoch >= 0 && c.epoch <= c.recipe.epochs, path, ": metadata field 'epoch' is ", c.epoch,
               "; expected 0 to the recipe's ", c.recipe.epochs, " epochs");
  c.history = meta_json(m, "history", path);
  MINIDL_CHECK(c.history.is_array() && static_cast<int64_t>(c.history.size()) == c.epoch, path,
               ": metadata field 'history' must list one record per completed epoch (", c.epoch, "), got ",
               c.history.is_array() ? std::to_string(c.history.size()) + " records" : c.history.type_name());
  c.extra = m.count("extra") ? meta_json(m, "extra", path) : nlohmann::json::object();
  MINIDL_CHECK(c.extra.is_object(), path, ": metadata field 'extra' must be an object");
  scalars_from(meta_json(m, "optimizer", path), "optimizer", path);  // checked now, used by restore
  scalars_from(meta_json(m, "scheduler", path), "scheduler", path);
  const nlohmann::json g = meta_json(m, "generator", path);
  MINIDL_CHECK(g.is_object() && g.contains("seed") && g.contains("offset") && g["seed"].is_number_unsigned() &&
               g["offset"].is_number_unsigned(), path, ": metadata field 'generator' must be {\"seed\": N, \"offset\": N}");
  return c;
}

void restore_checkpoint(const Checkpoint& c, nn::Module& model, optim::Optimizer& opt, optim::LRScheduler* sched) {
  NamedTensors weights;
  optim::OptimizerState os;
  for (const auto& [name, t] : c.file.tensors) {
    if (name.rfind(kModel, 0) == 0) weights.emplace_back(name.substr(kModel.size()), t);
    else if (name.rfind(kOptim, 0) == 0) os.tensors.emplace_back(name.substr(kOptim.size()), t);
  }
  const Metadata& m = c.file.metadata;
  try {
    model.load_state_dict(weights);
    os.scalars = scalars_from(meta_json(m, "optimizer", c.path), "optimizer", c.path);
    opt.load_state_dict(os);
    if (sched) sched->load_state_dict(scalars_from(meta_json(m, "scheduler", c.path), "scheduler", c.path));
  } catch (const Error& e) {
    MINIDL_FAIL(c.path, ": the checkpoint does not fit the model of its recipe: ", e.what());
  }
  const auto g = meta_json(m, "generator", c.path);
  default_generator().set_state(g.at("seed").get<uint64_t>(), g.at("offset").get<uint64_t>());
}

int64_t model_file_epoch(const std::string& path) {
  try {
    const SafetensorsFile f = load_safetensors(path);
    return meta_int(f.metadata, "epoch", path);
  } catch (const Error&) {
    return -1;
  }
}

}  // namespace minidl::train

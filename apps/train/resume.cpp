#include "apps/train/resume.h"

#include <filesystem>
#include <fstream>

#include "apps/train/run_folder.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace minidl::train {
namespace {
namespace fs = std::filesystem;


std::vector<Recipe> read_norm_all(const std::string& path) {
  std::ifstream f(path);
  MINIDL_CHECK(f.is_open(), "cannot read '", path, "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception&) {
    MINIDL_FAIL(path, ": not valid JSON");
  }
  MINIDL_CHECK(j.is_object() && j.contains("recipes") && j["recipes"].is_array() && j["recipes"].size() == 3, path,
               ": lacks the field 'recipes' (one per norm)");
  std::vector<Recipe> out;
  for (const auto& r : j["recipes"]) out.push_back(recipe_from_json(r, path));
  return out;
}

// The environment of a resumed run: the command's, in the saved run's folder.
Environment resumed_env(const Environment& env, const std::string& dir, const std::string& target) {
  if (!env.out.empty())
    MINIDL_CHECK(absolute_path(env.out) == absolute_path(target), "--out '", env.out, "': --resume continues the run in "
                 "its own folder '", target, "'; drop --out (or copy the folder and resume the copy)");
  MINIDL_CHECK(!env.overwrite, "--overwrite cannot be combined with --resume");
  Environment e = env;
  e.out = dir;
  e.resume_target = target;
  return e;
}

// The recipe a resumed run trains: the saved one, with more epochs when asked for and allowed;
// --data from the command when given (same images, checked later), else the saved folder.
Recipe resumed_recipe(const Recipe& saved, const Recipe& given, const std::set<std::string>& given_keys,
                      const std::string& where) {
  const auto diffs = recipe_differences(saved, given, true, &given_keys);
  MINIDL_CHECK(diffs.empty(), where, ": ", diffs.front(), " (--resume continues the saved recipe; drop the flag, "
               "or start a new run with --out NEW)");
  Recipe r = saved;
  if (given_keys.count("epochs")) r.epochs = given.epochs;
  if (given_keys.count("data")) r.data = absolute_path(given.data);
  return r;
}
}  // namespace

std::vector<std::string> recipe_differences(const Recipe& saved, const Recipe& given, bool allow_more_epochs,
                                            const std::set<std::string>* keys) {
  std::vector<std::string> out;
  for (const RecipeField& f : recipe_fields()) {
    const std::string key = f.key;
    if (key == "data" || key == "data_fingerprint" || (keys && !keys->count(key))) continue;
    const std::string a = flag_value(saved, key), b = flag_value(given, key);
    if (a == b) continue;
    if (key == "epochs" && allow_more_epochs && given.epochs > saved.epochs) continue;
    std::string msg = std::string(f.flag) + ": the saved run has " + a + ", the command gives " + b;
    if (key == "epochs") msg += " (a run can be extended to more epochs, never shortened)";
    out.push_back(msg);
  }
  return out;
}

void check_extension(const Checkpoint& ckpt, int64_t epochs) {
  MINIDL_CHECK(ckpt.recipe.scheduler != "onecycle", ckpt.path, ": --epochs ", epochs, " would extend a OneCycle run of ",
               ckpt.recipe.epochs, " epochs. OneCycle's whole curve depends on the total number of steps, so "
               "the epochs already trained would belong to a different schedule, and a finished cycle has annealed "
               "its rate to ~0. Start a new run with --epochs ", epochs, " --out NEW instead");
}

ResumePlan plan_resume(const std::string& path, const Recipe& given, const std::set<std::string>& given_keys,
                       const Environment& env) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  MINIDL_CHECK(st.type() != fs::file_type::not_found, "--resume '", path, "': no such file or folder");
  ResumePlan plan;
  auto one = [&](const std::string& ckpt_path, const std::string& target, const Recipe* expected) {
    const Checkpoint ckpt = read_checkpoint(ckpt_path);
    if (expected) {  // a norm of a --norm all run: the recipe norm_all.json has for it
      const auto diffs = recipe_differences(ckpt.recipe, *expected, true);
      MINIDL_CHECK(diffs.empty(), ckpt_path, ": differs from its norm_all.json: ", diffs.front());
    }
    TrainConfig c;
    c.recipe = resumed_recipe(ckpt.recipe, given, given_keys, ckpt_path);
    if (c.recipe.epochs > ckpt.recipe.epochs) check_extension(ckpt, c.recipe.epochs);
    c.env = resumed_env(env, fs::path(ckpt_path).parent_path().string(), target);
    c.resume = ckpt_path;
    return c;
  };
  if (st.type() == fs::file_type::regular) {
    plan.runs.push_back(one(path, fs::path(path).parent_path().string(), nullptr));
    return plan;
  }
  MINIDL_CHECK(st.type() == fs::file_type::directory, "--resume '", path, "' is neither a file nor a folder");
  const fs::path dir(path);
  if (fs::exists(dir / "checkpoint.safetensors", ec)) {
    plan.runs.push_back(one((dir / "checkpoint.safetensors").string(), path, nullptr));
    return plan;
  }
  MINIDL_CHECK(fs::exists(dir / "norm_all.json", ec), "--resume '", path, "': no checkpoint.safetensors (nor the "
               "norm_all.json of a --norm all run) in that folder: nothing to resume (a run saves its first checkpoint "
               "after its first epoch)");
  const std::vector<Recipe> all = read_norm_all((dir / "norm_all.json").string());
  plan.norm_all_dir = path;
  for (const Recipe& recipe : all) {
    const fs::path sub = dir / recipe.norm;
    if (fs::exists(sub / "checkpoint.safetensors", ec)) {
      plan.runs.push_back(one((sub / "checkpoint.safetensors").string(), path, &recipe));
      continue;
    }
    TrainConfig c;  // not started yet (or stopped in its first epoch): starts now
    c.recipe = resumed_recipe(recipe, given, given_keys, (dir / "norm_all.json").string());
    c.env = resumed_env(env, sub.string(), path);
    plan.runs.push_back(c);
  }
  return plan;
}

void write_norm_all(const std::string& dir, const std::vector<Recipe>& recipes) {
  nlohmann::json j = {{"recipes", nlohmann::json::array()}};
  for (const Recipe& r : recipes) j["recipes"].push_back(to_json(r));
  write_file_atomically(dir + "/norm_all.json", j.dump(2) + "\n");
}

}  // namespace minidl::train

#include "apps/train/run_folder.h"

#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace minidl::train {
namespace {
namespace fs = std::filesystem;

// Every file name a run writes into its folder (outputs.h, checkpoint.h).
const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names = {
      "checkpoint.safetensors", "model.safetensors", "metrics.json", "metrics.csv", "predictions.csv",
      "loss.png", "accuracy.png", "misclassified.png", "per_class_accuracy.png", "confusion_matrix.png",
      "lr_finder.png", "lr_finder.csv", "norm_all.json", "comparison.md", "comparison.png"};
  return names;
}
// The ones whose presence means "a run was here".
bool marks_run(const std::string& name) {
  return name == "checkpoint.safetensors" || name == "model.safetensors" || name == "metrics.json" ||
         name == "norm_all.json";
}
const char* const kNorms[] = {"batch", "group", "layer"};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void remove_run_files(const fs::path& dir) {
  for (const auto& name : run_file_names()) {
    std::error_code ec;
    fs::remove(dir / name, ec);
    MINIDL_CHECK(!ec, "--overwrite: cannot delete '", (dir / name).string(), "': ", ec.message());
  }
}
}  // namespace

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  MINIDL_CHECK(!ec, "cannot make '", path, "' absolute: ", ec.message());
  p = p.lexically_normal();
  std::string s = p.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::vector<std::string> run_files_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& name : run_file_names()) {
    std::error_code ec;
    if (marks_run(name) && fs::exists(fs::path(dir) / name, ec)) found.push_back(name);
  }
  return found;
}

bool holds_run(const std::string& dir) {
  if (!run_files_in(dir).empty()) return true;
  for (const char* norm : kNorms)
    if (!run_files_in((fs::path(dir) / norm).string()).empty()) return true;
  return false;
}

int remove_stale_temp_files(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".tmp") continue;
    for (const auto& base : run_file_names()) {
      // base + "." + hex digits + ".tmp"
      if (name.size() <= base.size() + 5 || name.compare(0, base.size() + 1, base + ".") != 0) continue;
      const std::string middle = name.substr(base.size() + 1, name.size() - base.size() - 5);
      if (middle.empty() || middle.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
      std::error_code rm;
      if (fs::remove(e.path(), rm)) ++removed;
      break;
    }
  }
  return removed;
}

std::string prepare_new_run_folder(const Recipe& recipe, const Environment& env) {
  std::string dir = env.out;
  if (dir.empty()) {
    const std::string base = "runs/" + recipe.model + "-" + recipe.norm;
    dir = base;
    for (int n = 2; holds_run(dir); ++n) {
      MINIDL_CHECK(n < 10000, "no free run folder after ", base, "-9999; pass --out");
      dir = base + "-" + std::to_string(n);
    }
    if (dir != base) std::printf("output folder: %s (%s holds an earlier run)\n", dir.c_str(), base.c_str());
  } else {
    std::error_code ec;
    MINIDL_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), "--out '", dir, "' is a file, not a folder");
    if (holds_run(dir)) {
      std::vector<std::string> found = run_files_in(dir);
      for (const char* norm : kNorms)
        for (const auto& f : run_files_in((fs::path(dir) / norm).string())) found.push_back(std::string(norm) + "/" + f);
      MINIDL_CHECK(env.overwrite, "--out '", dir, "' already holds a run (", join(found), "); choose a new folder with "
                   "--out NEW, continue that run with --resume ", dir, ", or replace it with --overwrite");
      std::printf("--overwrite: deleting the run files in %s\n", dir.c_str());
      remove_run_files(dir);
      for (const char* norm : kNorms)
        if (fs::is_directory(fs::path(dir) / norm, ec)) remove_run_files(fs::path(dir) / norm);
    }
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  MINIDL_CHECK(!ec, "cannot create the run folder '", dir, "': ", ec.message());
  return dir;
}

}  // namespace minidl::train

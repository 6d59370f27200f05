#include "apps/train/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/atomic_file.h"
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

namespace {
const char kLockName[] = ".train_cifar.lock";
struct Held {
  int fd;
  int count;
};
std::map<std::string, Held>& held_here() {
  static std::map<std::string, Held> dirs;  // absolute path -> the descriptor holding its lock
  return dirs;
}
}  // namespace

RunFolderClaim& RunFolderClaim::operator=(RunFolderClaim&& other) noexcept {
  if (this != &other) {
    release();
    dir_ = std::move(other.dir_);
    other.dir_.clear();
  }
  return *this;
}

void RunFolderClaim::release() {
  if (dir_.empty()) return;
  auto it = held_here().find(dir_);
  if (it != held_here().end() && --it->second.count == 0) {
    ::close(it->second.fd);  // drops the flock
    held_here().erase(it);
  }
  dir_.clear();
}

RunFolderClaim try_claim_run_folder(const std::string& dir) {
  RunFolderClaim claim;
  const std::string abs = absolute_path(dir);
  auto it = held_here().find(abs);
  if (it != held_here().end()) {
    ++it->second.count;
    claim.dir_ = abs;
    return claim;
  }
  std::error_code ec;
  fs::create_directories(abs, ec);
  MINIDL_CHECK(!ec, "cannot create the run folder '", dir, "': ", ec.message());
  const std::string lock = abs + "/" + kLockName;
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  MINIDL_CHECK(fd >= 0, "cannot open '", lock, "' to claim the run folder: ", std::strerror(errno));
  // flock, not fcntl locks: it belongs to this open descriptor, so it lasts until the descriptor
  // is closed or the process ends, however it ends.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    MINIDL_CHECK(err == EWOULDBLOCK, "cannot lock '", lock, "': ", std::strerror(err));
    return claim;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";  // for the other run's error message
  if (::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Only the other run's message would lack the pid.
  }
  held_here()[abs] = {fd, 1};
  claim.dir_ = abs;
  return claim;
}

RunFolderClaim claim_run_folder(const std::string& dir, const std::string& what) {
  RunFolderClaim claim = try_claim_run_folder(dir);
  if (claim.held()) return claim;
  std::string pid;
  std::ifstream(fs::path(dir) / kLockName) >> pid;
  MINIDL_FAIL(what, " '", dir, "' is in use by another train_cifar run (pid ", pid.empty() ? "unknown" : pid,
              ") that is still going: wait for it, stop it, or choose another folder");
}

void check_writable(const std::string& dir) {
  // As long as the longest run file names (checkpoint.safetensors, per_class_accuracy.png), so
  // that its temporary name is as long as theirs.
  const std::string probe = (fs::path(dir) / ".train_cifar_probe.txt").string();
  try {
    write_file_atomically(probe, std::string(4096, 'x'));
  } catch (const Error& e) {
    MINIDL_FAIL("the run folder '", dir, "' cannot be written (checked before training): ", e.what());
  }
  std::error_code ec;
  fs::remove(probe, ec);
}

std::string prepare_new_run_folder(const Recipe& recipe, const Environment& env, RunFolderClaim* claim) {
  RunFolderClaim mine;
  std::string dir = env.out;
  if (dir.empty()) {
    const std::string base = "runs/" + recipe.model + "-" + recipe.norm;
    dir = base;
    // A folder that holds a run, or that another run starting now has claimed, is taken.
    for (int n = 2; holds_run(dir) || !(mine = try_claim_run_folder(dir)).held(); ++n) {
      MINIDL_CHECK(n < 10000, "no free run folder after ", base, "-9999; pass --out");
      dir = base + "-" + std::to_string(n);
    }
    if (dir != base) std::printf("output folder: %s (%s holds an earlier run)\n", dir.c_str(), base.c_str());
  } else {
    std::error_code ec;
    MINIDL_CHECK(!fs::exists(dir, ec) || fs::is_directory(dir, ec), "--out '", dir, "' is a file, not a folder");
    mine = claim_run_folder(dir, "--out");  // even --overwrite must not delete a live run's files
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
  if (claim) *claim = std::move(mine);
  return dir;
}

}  // namespace minidl::train

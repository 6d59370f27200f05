// Shared by the train_cifar tests: a tiny generated CIFAR-10 dataset in the official format, a
// small recipe that trains in a second, and running the train_cifar binary as a user would.
#pragma once
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "apps/train/config.h"
#include "core/random.h"
#include "core/tensor.h"

extern char** environ;

namespace minidl::testing {

namespace fs = std::filesystem;

// root/cifar-10-batches-bin with 5 training files of `per_file` random images and a test file of
// `test` images. Returns root (a fresh folder under the temp directory).
inline fs::path make_dataset(const std::string& name, int per_file, int test = 100) {
  const fs::path root = fs::temp_directory_path() / ("minidl_train_" + name);
  fs::remove_all(root);
  const fs::path dir = root / "cifar-10-batches-bin";
  fs::create_directories(dir);
  Generator g(5);
  auto write = [&](const std::string& file, int n) {
    std::vector<double> r = rand({n, 3073}, DType::Float64, &g, 0, 256).to_vector<double>();
    std::ofstream f(dir / file, std::ios::binary);
    for (int i = 0; i < n; ++i) {
      f.put(static_cast<char>(i % 10));
      for (int j = 1; j < 3073; ++j) f.put(static_cast<char>(static_cast<int>(r[i * 3073 + j])));
    }
  };
  for (int b = 1; b <= 5; ++b) write("data_batch_" + std::to_string(b) + ".bin", per_file);
  write("test_batch.bin", test);
  return root;
}

inline train::TrainConfig tiny_config(const fs::path& data, const std::string& out) {
  train::TrainConfig c;
  c.recipe.model = "convnet39k";
  c.recipe.data = data.string();
  c.recipe.epochs = 1;
  c.recipe.batch_size = 64;
  c.recipe.limit_train = 256;
  c.env.out = out;
  c.env.device = "cpu";
  c.env.workers = 1;
  return c;
}

inline std::string train_cifar_bin() { return std::string(MINIDL_BINARY_DIR) + "/apps/train_cifar"; }

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; stdout and stderr are captured together.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) r.output += buf;
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

inline std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The line of `output` that starts with `prefix`, without the prefix ("" when none).
inline std::string line_after(const std::string& output, const std::string& prefix) {
  const size_t at = output.find(prefix);
  if (at == std::string::npos) return "";
  const size_t begin = at + prefix.size(), end = output.find('\n', begin);
  return output.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// Temporary files (NAME.<random>.tmp) left next to the files of a folder.
inline std::vector<std::string> temp_files_in(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".tmp") found.push_back(e.path().filename().string());
  return found;
}

// Starts train_cifar with `args`, output into `log`; returns its pid.
inline pid_t spawn_train(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> all = {train_cifar_bin()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits until `file` exists (true) or `seconds` pass (false).
inline bool wait_for(const fs::path& file, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(file)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

inline int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

}  // namespace minidl::testing

// Ctrl-C and SIGTERM (apps/train/signals.h): the run stops at the next batch, keeps its last
// complete checkpoint, prints a resume command that works, and exits 130 / 143; a second signal
// exits at once.
#include <catch2/catch.hpp>

#include <chrono>
#include <fcntl.h>
#include <spawn.h>
#include <thread>

#include "apps/train/checkpoint.h"
#include "train_fixture.h"

extern char** environ;

using namespace minidl;
using namespace minidl::testing;

namespace {

// Starts train_cifar with `args`, output into `log`; returns its pid.
pid_t spawn_train(const std::vector<std::string>& args, const fs::path& log) {
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
bool wait_for(const fs::path& file, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(file)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

std::vector<std::string> long_run(const fs::path& data, const fs::path& out) {
  return {"--model", "convnet39k", "--batch-size", "64", "--limit-train", "256", "--device", "cpu", "--workers", "1",
          "--epochs", "200", "--data", data.string(), "--out", out.string()};
}

}  // namespace

TEST_CASE("SIGINT and SIGTERM stop cleanly with the resume command and exit 130 / 143", "[train_cifar][signals]") {
  const fs::path data = make_dataset("signals", 60);
  for (const int sig : {SIGINT, SIGTERM}) {
    const fs::path out = data / ("run" + std::to_string(sig)), log = data / ("log" + std::to_string(sig));
    const pid_t pid = spawn_train(long_run(data, out), log);
    REQUIRE(pid > 0);
    REQUIRE(wait_for(out / "checkpoint.safetensors", 120));  // epoch 1 is complete
    kill(pid, sig);
    const int code = wait_exit_code(pid);
    const std::string output = read_text(log);
    INFO(output);
    CHECK(code == 128 + sig);
    CHECK(output.find(sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)") != std::string::npos);
    // The checkpoint is whole and the printed command continues it.
    const train::Checkpoint ckpt = train::read_checkpoint((out / "checkpoint.safetensors").string());
    CHECK(ckpt.epoch >= 1);
    CHECK(temp_files_in(out).empty());
    const std::string cmd = line_after(output, "continue with: ");
    REQUIRE(cmd == train_cifar_bin() + " --resume " + out.string());
    const CommandResult more = run_command(cmd + " --stop-after " + std::to_string(ckpt.epoch + 1));
    INFO(more.output);
    CHECK(more.exit_code == 0);
    CHECK(more.output.find("resuming convnet39k from epoch " + std::to_string(ckpt.epoch)) != std::string::npos);
  }
  fs::remove_all(data);
}

TEST_CASE("a second signal exits at once", "[train_cifar][signals]") {
  const fs::path data = make_dataset("signals2", 60);
  const fs::path out = data / "run", log = data / "log";
  const pid_t pid = spawn_train(long_run(data, out), log);
  REQUIRE(pid > 0);
  REQUIRE(wait_for(out / "checkpoint.safetensors", 120));
  kill(pid, SIGINT);
  kill(pid, SIGINT);
  const int code = wait_exit_code(pid);
  const std::string output = read_text(log);
  INFO(output);
  CHECK(code == 130);
  CHECK((output.find("second signal, exiting now") != std::string::npos ||
         output.find("interrupted (SIGINT)") != std::string::npos));  // the first may already have been handled
  CHECK_NOTHROW(train::read_checkpoint((out / "checkpoint.safetensors").string()));
  fs::remove_all(data);
}

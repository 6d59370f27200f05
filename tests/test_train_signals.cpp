// Ctrl-C, SIGTERM and SIGHUP (apps/train/signals.h): the run stops at the next batch, keeps its
// last complete checkpoint, prints a resume command that works and keeps the environment flags
// given (--device, --workers), and exits 130 / 143 / 129; a second signal exits at once.
#include <catch2/catch.hpp>

#include "apps/train/checkpoint.h"
#include "train_fixture.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

std::vector<std::string> long_run(const fs::path& data, const fs::path& out) {
  return {"--model", "convnet39k", "--batch-size", "64", "--limit-train", "256", "--device", "cpu", "--workers", "1",
          "--epochs", "200", "--data", data.string(), "--out", out.string()};
}

}  // namespace

TEST_CASE("SIGINT, SIGTERM and SIGHUP stop cleanly with the resume command and exit 130 / 143 / 129",
          "[train_cifar][signals]") {
  const fs::path data = make_dataset("signals", 60);
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    const fs::path out = data / ("run" + std::to_string(sig)), log = data / ("log" + std::to_string(sig));
    const pid_t pid = spawn_train(long_run(data, out), log);
    REQUIRE(pid > 0);
    REQUIRE(wait_for(out / "checkpoint.safetensors", 120));  // epoch 1 is complete
    kill(pid, sig);
    const int code = wait_exit_code(pid);
    const std::string output = read_text(log);
    INFO(output);
    CHECK(code == 128 + sig);
    CHECK(output.find(sig == SIGINT    ? "interrupted (SIGINT)"
                      : sig == SIGTERM ? "terminated (SIGTERM)"
                                       : "hung up (SIGHUP)") != std::string::npos);
    // The checkpoint is whole and the printed command continues it.
    const train::Checkpoint ckpt = train::read_checkpoint((out / "checkpoint.safetensors").string());
    CHECK(ckpt.epoch >= 1);
    CHECK(temp_files_in(out).empty());
    const std::string cmd = line_after(output, "continue with: ");
    // The run was limited to the CPU and one loader thread: so is the command that continues it.
    REQUIRE(cmd == train_cifar_bin() + " --resume " + out.string() + " --device cpu --workers 1");
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

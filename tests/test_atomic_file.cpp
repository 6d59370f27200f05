// core/atomic_file.h: a file is replaced whole or not at all, every write is checked, and a
// planted symlink is never followed.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "train_fixture.h"

using namespace minidl;
using namespace minidl::testing;

namespace {
fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("minidl_atomic_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Runs f in a child process whose files may not grow past `limit` bytes (writes beyond fail
// with EFBIG, as on a full disk); returns the message of the Error it threw ("" if none).
template <class F>
std::string with_file_size_limit(rlim_t limit, F f) {
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    signal(SIGXFSZ, SIG_IGN);  // report EFBIG instead of killing the process
    rlimit rl{limit, limit};
    setrlimit(RLIMIT_FSIZE, &rl);
    std::string msg;
    try {
      f();
    } catch (const std::exception& e) {
      msg = e.what();
    }
    [[maybe_unused]] ssize_t w = write(pipefd[1], msg.data(), msg.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return msg;
}
}  // namespace

TEST_CASE("write_file_atomically replaces the file whole and leaves no temp file", "[atomic_file]") {
  const fs::path dir = scratch("basic");
  const std::string path = (dir / "metrics.csv").string();
  write_file_atomically(path, "one\n");
  write_file_atomically(path, "two\n");
  CHECK(read_text(path) == "two\n");
  CHECK(temp_files_in(dir).empty());
  // The file gets the usual permissions (umask), not mkstemp's 0600.
  const auto perms = fs::status(path).permissions();
  CHECK((perms & fs::perms::others_read) != fs::perms::none);
  fs::remove_all(dir);
}

TEST_CASE("a failed write keeps the old file and names the file and the reason", "[atomic_file][errors]") {
  const fs::path dir = scratch("full");
  const std::string path = (dir / "metrics.csv").string();
  write_file_atomically(path, "old contents\n");
  const std::string big(100000, 'x');
  const std::string msg = with_file_size_limit(1000, [&] { write_file_atomically(path, big); });
  INFO(msg);
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find("File too large") != std::string::npos);  // the errno text
  CHECK(read_text(path) == "old contents\n");
  CHECK(temp_files_in(dir).empty());
  // The same for a safetensors file (the checkpoint path).
  const std::string st = (dir / "checkpoint.safetensors").string();
  save_safetensors(st, {{"w", zeros({4})}});
  const std::string before = read_text(st);
  const std::string msg2 =
      with_file_size_limit(1000, [&] { save_safetensors(st, {{"w", zeros({100000})}}); });
  CHECK(msg2.find(st) != std::string::npos);
  CHECK(read_text(st) == before);
  CHECK(temp_files_in(dir).empty());
  // A folder that does not exist, and one that is not writable, are named.
  CHECK_THROWS_WITH(write_file_atomically((dir / "nope" / "x.csv").string(), "x"),
                    Catch::Contains("nope/x.csv") && Catch::Contains("No such file or directory"));
  fs::remove_all(dir);
}

TEST_CASE("a symlink planted at the old fixed temp name is not followed", "[atomic_file]") {
  const fs::path dir = scratch("symlink");
  const fs::path victim = dir / "victim.txt";
  { std::ofstream(victim) << "precious"; }
  fs::create_symlink(victim, dir / "metrics.csv.tmp");
  write_file_atomically((dir / "metrics.csv").string(), "new\n");
  CHECK(read_text(victim) == "precious");
  CHECK(read_text(dir / "metrics.csv") == "new\n");
  fs::remove_all(dir);
}

TEST_CASE("AtomicFile without commit leaves the target untouched", "[atomic_file]") {
  const fs::path dir = scratch("abandon");
  const std::string path = (dir / "model.safetensors").string();
  write_file_atomically(path, "v1");
  {
    AtomicFile f(path);
    f.write("v2-partial", 10);
  }  // destroyed without commit, as when an exception unwinds
  CHECK(read_text(path) == "v1");
  CHECK(temp_files_in(dir).empty());
  fs::remove_all(dir);
}

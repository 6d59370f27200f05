// Ctrl-C, SIGTERM and SIGHUP during training: the first signal asks the run to stop at the next
// safe point (after the current batch, or after the test pass under way, which then checkpoints
// its epoch; the last complete checkpoint stays as it is), the run prints the command that
// resumes it and train_cifar exits 128 + the signal: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP). A second
// signal exits at once with the same code (nothing is being written that a checkpoint depends on:
// checkpoints are renamed into place whole).
#pragma once
#include <stdexcept>
#include <string>

namespace minidl::train {

// Installs the handlers (idempotent). Only train_cifar's main calls it: library users and tests
// keep their own signal handling.
void install_stop_handlers();
// 0, or the signal that asked to stop.
int stop_signal();
// Throws Interrupted when a stop was requested.
void check_stop();
// For tests: forget a request.
void clear_stop();

struct Interrupted : std::runtime_error {
  explicit Interrupted(int sig);
  int signal;
  int exit_code() const { return 128 + signal; }  // the shell's convention: 130, 143
};

}  // namespace minidl::train

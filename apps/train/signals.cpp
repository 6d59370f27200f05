#include "apps/train/signals.h"

#include <atomic>
#include <csignal>
#include <cstring>
#include <unistd.h>

namespace minidl::train {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the handler may only touch lock-free atomics");

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (g_signal.compare_exchange_strong(expected, sig)) {
    const char msg[] = "\ntrain_cifar: stopping after the current batch, or after the test pass if one is running "
                       "(it keeps the epoch just trained); send the signal again to quit at once\n";
    [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    return;
  }
  // Second signal: only async-signal-safe calls here.
  const char msg[] = "\ntrain_cifar: second signal, exiting now\n";
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::_exit(128 + sig);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocked reads and waits continue; the loop checks the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // a closed terminal or ssh session: stop as cleanly as SIGTERM
}

int stop_signal() { return g_signal.load(); }

void check_stop() {
  if (const int sig = g_signal.load()) throw Interrupted(sig);
}

void clear_stop() { g_signal.store(0); }

Interrupted::Interrupted(int sig)
    : std::runtime_error(sig == SIGINT    ? "interrupted (SIGINT)"
                         : sig == SIGTERM ? "terminated (SIGTERM)"
                         : sig == SIGHUP  ? "hung up (SIGHUP)"
                                          : "stopped by a signal"),
      signal(sig) {}

}  // namespace minidl::train

// The progress display of train_cifar's training epochs and test passes. On a terminal: one live
// line, redrawn at most ten times a second,
//   epoch   3/20 [=========>          ] 180/391  loss 1.2345  acc 55.12%  1,850 img/s  ETA 0:12
//   test    3/20 [===>                ]   4/20   loss 1.1021  acc 60.40%  9,200 img/s  ETA 0:06
// When stdout is not a terminal (a log file, CI), nothing is drawn while the epoch runs; the
// caller prints one summary line per epoch either way.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace minidl::train {

class ProgressBar {
 public:
  // what: "epoch" or "test"; epoch is 1-based.
  ProgressBar(const char* what, int64_t epoch, int64_t epochs, int64_t total_batches);
  // Clears the line when the bar goes out of scope, so a message printed while an exception
  // (a stop signal, a divergence) unwinds does not land on the bar.
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // After each batch: the running mean loss and accuracy (%; negative: not shown) so far.
  void update(int64_t batches_done, int64_t images_done, double loss, double accuracy);
  // Clears the live line (call before printing the epoch summary); idempotent.
  void finish();
  static bool is_terminal();

 private:
  const char* what_;
  int64_t epoch_, epochs_, total_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool live_, drawn_ = false;
};

// "1:05" / "1:02:03"
std::string format_duration(double seconds);

}  // namespace minidl::train

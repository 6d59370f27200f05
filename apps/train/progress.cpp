#include "apps/train/progress.h"

#include <unistd.h>

#include <cstdio>

namespace minidl::train {

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

bool ProgressBar::is_terminal() { return isatty(STDOUT_FILENO) == 1; }

ProgressBar::ProgressBar(const char* what, int64_t epoch, int64_t epochs, int64_t total_batches)
    : what_(what), epoch_(epoch), epochs_(epochs), total_(total_batches), start_(std::chrono::steady_clock::now()),
      last_draw_(start_), live_(is_terminal()) {}

void ProgressBar::update(int64_t done, int64_t images, double loss, double accuracy) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(images) / elapsed : 0.0;
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0.0;
  const int width = 24;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  char acc[32] = "";
  if (accuracy >= 0) std::snprintf(acc, sizeof acc, "  acc %5.2f%%", accuracy);
  std::printf("\r\033[K%-5s %3lld/%lld [%s] %lld/%lld  loss %.4f%s  %.0f img/s  ETA %s", what_, (long long)epoch_,
              (long long)epochs_, bar.c_str(), (long long)done, (long long)total_, loss, acc, rate,
              format_duration(eta).c_str());
  std::fflush(stdout);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
  drawn_ = false;
}

}  // namespace minidl::train

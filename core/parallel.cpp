#include "core/parallel.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "core/env.h"
#include "core/error.h"

namespace minidl {

namespace {

// The measured cost and the thread count it was measured with (0: not yet).
std::atomic<double> g_cost_us{0.0};
std::atomic<int> g_cost_threads{0};
std::atomic<bool> g_cost_fixed{false};
std::mutex g_measure;

double measure_region_cost_us(int threads) {
  using Clock = std::chrono::steady_clock;
  auto spin = [](double us) {  // the master's own work between two regions, as in a training step
    const auto t0 = Clock::now();
    while (std::chrono::duration<double, std::micro>(Clock::now() - t0).count() < us) {
    }
  };
  std::atomic<int> sink{0};
  for (int w = 0; w < 3; ++w) {  // the first regions also create the threads
#pragma omp parallel num_threads(threads)
    sink.fetch_add(1, std::memory_order_relaxed);
  }
  std::array<double, 15> t{};
  for (double& v : t) {
    spin(20);
    const auto t0 = Clock::now();
#pragma omp parallel num_threads(threads)
    sink.fetch_add(1, std::memory_order_relaxed);
    v = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

// MINIDL_PARALLEL_COST_US, read once on first use: the cost it pins, or -1 when unset.
double env_cost_us() {
  static const double pinned = [] {
    const char* v = env_value("MINIDL_PARALLEL_COST_US");
    if (v == nullptr) return -1.0;
    char* end = nullptr;
    const double us = std::strtod(v, &end);
    MINIDL_CHECK(end != v && *end == '\0' && std::isfinite(us) && us >= 0,
                 "MINIDL_PARALLEL_COST_US: expected a number of microseconds >= 0, got '", v, "'");
    return us;
  }();
  return pinned;
}

}  // namespace

void set_num_threads(int n) {
  MINIDL_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int get_num_threads() { return omp_get_max_threads(); }


double parallel_region_cost_us() {
  const double pinned = env_cost_us();
  if (g_cost_fixed.load()) return g_cost_us.load();  // set_parallel_region_cost_us wins over the variable
  if (pinned >= 0) return pinned;
  const int threads = get_num_threads();
  if (g_cost_threads.load() == threads) return g_cost_us.load();
  if (threads < 2 || omp_in_parallel()) return 0.0;
  std::lock_guard<std::mutex> lock(g_measure);
  if (g_cost_fixed.load() || g_cost_threads.load() == threads) return g_cost_us.load();
  g_cost_us.store(measure_region_cost_us(threads));
  g_cost_threads.store(threads);
  return g_cost_us.load();
}

void set_parallel_region_cost_us(double us) {
  std::lock_guard<std::mutex> lock(g_measure);
  g_cost_fixed.store(us >= 0);
  g_cost_us.store(us >= 0 ? us : 0.0);
  g_cost_threads.store(0);
}

bool parallel_pays(double serial_us) {
  env_cost_us();  // a malformed MINIDL_PARALLEL_COST_US is an error even where nothing is split
  const int threads = get_num_threads();
  if (threads < 2 || omp_in_parallel()) return false;
  // Even spinning threads cost a wake-up and a barrier: never count a region as under 2 us.
  const double cost = std::max(parallel_region_cost_us(), 2.0);
  return serial_us * (1.0 - 1.0 / threads) > cost;
}

}  // namespace minidl

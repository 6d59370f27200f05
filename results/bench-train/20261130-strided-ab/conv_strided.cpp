// The strided convolutions of minidl50k (and skipnet48k's 3x3 8->16) timed kernel by kernel, for the
// before/after table in docs/performance.md: cpu::conv2d_fwd / _bwd_data / _bwd_weight, batch 128,
// float32, 2 OpenMP threads, the minimum of 7 calls each. Build it against each commit's library
// (a Release build of that commit in DIR) and run both, alternating, on a quiet machine:
//   g++ -O2 -std=c++17 -fopenmp -I<checkout> conv_strided.cpp DIR/libminidl.a -o conv_strided -lpthread
//   OMP_WAIT_POLICY=passive ./conv_strided
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/conv.h"

using namespace minidl;

int main() {
  struct Case { const char* name; int64_t C, K, k, s, p, H, groups; };
  const std::vector<Case> cases = {
      {"3x3 24->48 s2 32x32", 24, 48, 3, 2, 1, 32, 1},        {"1x1 24->48 s2 32x32", 24, 48, 1, 2, 0, 32, 1},
      {"dw 3x3 48 s2 16x16", 48, 48, 3, 2, 1, 16, 48},        {"1x1 48->80 s2 16x16", 48, 80, 1, 2, 0, 16, 1},
      {"3x3 8->16 s2 32x32", 8, 16, 3, 2, 1, 32, 1},          {"dw 3x3 48 s1 16x16", 48, 48, 3, 1, 1, 16, 48}};
  omp_set_num_threads(2);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const Case& c : cases) {
    Conv2dShape s;
    s.N = 128, s.C = c.C, s.H = s.W = c.H, s.K = c.K, s.R = s.S = c.k, s.stride_h = s.stride_w = c.s;
    s.pad_h = s.pad_w = c.p, s.groups = c.groups, s.P = s.Q = (c.H + 2 * c.p - c.k) / c.s + 1;
    std::vector<float> x(s.N * s.C * s.H * s.W), w(s.K * s.Cg() * s.R * s.S), y(s.N * s.K * s.P * s.Q);
    std::vector<float> dx(x.size()), dw(w.size());
    for (auto* v : {&x, &w, &y})
      for (float& e : *v) e = u(rng);
    double best[3] = {1e9, 1e9, 1e9};
    for (int rep = 0; rep < 7; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      cpu::conv2d_fwd<float>(s, x.data(), w.data(), nullptr, y.data());
      const auto t1 = std::chrono::steady_clock::now();
      cpu::conv2d_bwd_data<float>(s, y.data(), w.data(), dx.data());
      const auto t2 = std::chrono::steady_clock::now();
      cpu::conv2d_bwd_weight<float>(s, x.data(), y.data(), dw.data(), nullptr);
      const auto t3 = std::chrono::steady_clock::now();
      const double ms[3] = {std::chrono::duration<double, std::milli>(t1 - t0).count(),
                            std::chrono::duration<double, std::milli>(t2 - t1).count(),
                            std::chrono::duration<double, std::milli>(t3 - t2).count()};
      for (int i = 0; i < 3; ++i) best[i] = std::min(best[i], ms[i]);
    }
    std::printf("%-22s fwd %6.3f  bwd_data %6.3f  bwd_weight %6.3f ms\n", c.name, best[0], best[1], best[2]);
  }
}

// The stride-1 convolutions behind the image-lane cost model of kernels/cpu/conv.cpp (LaneLayout::pays)
// timed kernel by kernel: cpu::conv2d_fwd / _bwd_data / _bwd_weight, batch 128, float32, 2 OpenMP
// threads, the minimum of 9 calls each. run.sh runs it with MINIDL_CONV_LANES=never, always and
// auto (the model's choice), alternating, on a quiet machine:
//   g++ -O2 -std=c++17 -fopenmp -I<checkout> conv_lanes.cpp <build>/libminidl.a -o conv_lanes -lpthread
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
      // small maps (convnet39k, gapnet39k, c10net48k)
      {"3x3 32->32 p1 10x10", 32, 32, 3, 1, 1, 10, 1},   {"3x3 32->32 p1 5x5", 32, 32, 3, 1, 1, 5, 1},
      {"3x3 16->32 p1 5x5", 16, 32, 3, 1, 1, 5, 1},      {"3x3 16->32 p0 14->12", 16, 32, 3, 1, 0, 14, 1},
      {"3x3 16->16 p0 16->14", 16, 16, 3, 1, 0, 16, 1},  {"3x3 20->30 p0 7->5", 20, 30, 3, 1, 0, 7, 1},
      {"3x3 30->40 p0 5->3", 30, 40, 3, 1, 0, 5, 1},     {"3x3 10->20 p0 9->7", 10, 20, 3, 1, 0, 9, 1},
      {"3x3 30->40 p1 14x14", 30, 40, 3, 1, 1, 14, 1},   {"3x3 32->32 p1 8x8", 32, 32, 3, 1, 1, 8, 1},
      // larger maps, 1x1 and depthwise (skipnet48k, minidl50k, convnet39k's first layers)
      {"3x3 16->16 p1 32x32", 16, 16, 3, 1, 1, 32, 1},   {"3x3 24->24 p1 32x32", 24, 24, 3, 1, 1, 32, 1},
      {"3x3 32->32 p1 16x16", 32, 32, 3, 1, 1, 16, 1},   {"3x3 16->32 p0 30->28", 16, 32, 3, 1, 0, 30, 1},
      {"3x3 3->16 p1 32x32", 3, 16, 3, 1, 1, 32, 1},     {"1x1 48->48 16x16", 48, 48, 1, 1, 0, 16, 1},
      {"1x1 32->16 28x28", 32, 16, 1, 1, 0, 28, 1},      {"1x1 80->80 8x8", 80, 80, 1, 1, 0, 8, 1},
      {"dw 3x3 48 p1 16x16", 48, 48, 3, 1, 1, 16, 48},   {"dw 3x3 80 p1 8x8", 80, 80, 3, 1, 1, 8, 80}};
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
    for (int rep = 0; rep < 9; ++rep) {
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
    std::printf("%-24s fwd %6.3f  bwd_data %6.3f  bwd_weight %6.3f ms\n", c.name, best[0], best[1], best[2]);
  }
}

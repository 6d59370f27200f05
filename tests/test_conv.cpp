// conv2d: forward values by hand and gradchecks (every path: stride 1, strided (phases), small
// maps (flat grid), groups, depthwise, 1x1, non-square kernels, padding larger than the kernel) on the
// reference and the tuned CPU engine; the tuned engine against the reference (kernels/ref/conv.cpp,
// the 7-loop definition) on shapes larger than its register tiles; errors; the CUDA and cuDNN
// engines against the reference and a float64 gradcheck on the GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_path.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using ops::Conv2dFuncOptions;
using namespace minidl::testing;

namespace {

struct ConvCase {
  const char* what;
  Shape x, w;
  Conv2dFuncOptions opt;
  bool bias;
};

// N=3, C=6, H=5, W=7 everywhere (odd sizes, not multiples of any vector or tile width).
std::vector<ConvCase> gradcheck_cases() {
  return {
      {"3x3 pad 1", {3, 6, 5, 7}, {4, 6, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"3x3 stride 2 pad 1", {3, 6, 5, 7}, {4, 6, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
      {"groups 2", {3, 6, 5, 7}, {4, 3, 3, 3}, Conv2dFuncOptions().padding(1).groups(2), true},
      {"groups 3 stride 2", {3, 6, 5, 7}, {6, 2, 3, 3}, Conv2dFuncOptions().stride(2).groups(3), true},
      {"depthwise", {3, 6, 5, 7}, {6, 1, 3, 3}, Conv2dFuncOptions().padding(1).groups(6), true},
      {"depthwise x2 stride 2", {3, 6, 5, 7}, {12, 1, 3, 3}, Conv2dFuncOptions().stride(2).padding(1).groups(6), false},
      {"1x1", {3, 6, 5, 7}, {5, 6, 1, 1}, Conv2dFuncOptions(), true},
      {"1x1 stride 2", {3, 6, 5, 7}, {5, 6, 1, 1}, Conv2dFuncOptions().stride(2), true},
      {"3x2 kernel pad (1, 0) no bias", {3, 6, 5, 7}, {4, 6, 3, 2}, Conv2dFuncOptions().padding({1, 0}), false},
      {"3x2 kernel stride (2, 1)", {3, 6, 5, 7}, {4, 6, 3, 2}, Conv2dFuncOptions().stride({2, 1}).padding({0, 1}), true},
      {"padding 3 > kernel - 1", {3, 6, 5, 7}, {2, 6, 3, 3}, Conv2dFuncOptions().padding(3), true},
      {"5x5 pad 0", {3, 6, 5, 7}, {3, 6, 5, 5}, Conv2dFuncOptions(), false},
  };
}

Tensor conv_of(const ConvCase& c, const std::vector<Tensor>& in) {
  return ops::conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.opt);
}

// The cpu engine against the reference on each case, float64 (to 1e-10) and float32 (1e-4), forward
// and every gradient; seeds count up from seed.
void check_cpu_engine_cases(const std::vector<ConvCase>& cases, uint64_t seed) {
  for (const ConvCase& c : cases) {
    for (DType dt : {DType::Float64, DType::Float32}) {
      INFO(c.what << " " << dt << " lanes mode " << static_cast<int>(cpu::conv_lanes()));
      Generator gen(seed++);
      const std::vector<Tensor> in = {rand(c.x, dt, &gen, -1, 1), rand(c.w, dt, &gen, -1, 1),
                                      rand({c.w[0]}, dt, &gen, -1, 1)};
      const double tol = dt == DType::Float64 ? 1e-10 : 1e-4;
      check_against_ref(conv_engine(), Engine::Cpu, [&](const auto& t) { return conv_of(c, t); }, in,
                        {true, true, c.bias}, tol, tol * 0.1);
    }
  }
}

const Engine kCpuEngines[] = {Engine::Ref, Engine::Cpu};

}  // namespace

TEST_CASE("conv2d forward values", "[conv]") {
  for (Engine e : kCpuEngines) {
    INFO("engine " << engine_name(e));
    const EngineGuard use(conv_engine(), e);
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 2], [3, 4]], bias 1:
    //   y[0, 0] = 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38    y[0, 1] = 1*2 + 2*3 + 3*5 + 4*6 + 1 = 48
    //   y[1, 0] = 1*4 + 2*5 + 3*7 + 4*8 + 1 = 68    y[1, 1] = 1*5 + 2*6 + 3*8 + 4*9 + 1 = 78
    const Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    const Tensor w = f64({1, 2, 3, 4}, {1, 1, 2, 2});
    CHECK(values(ops::conv2d(x, w, f64({1}, {1}))) == std::vector<double>{38, 48, 68, 78});
    // Padding 1, stride 2: P = (3 + 2 - 2) / 2 + 1 = 2; output (p, q) sees input rows 2p-1, 2p and
    // columns 2q-1, 2q (row or column -1 is padding):
    //   (0, 0): only x[0, 0] = 1 under w[1, 1] = 4                   -> 4
    //   (0, 1): x[0, 1] = 2 under 3, x[0, 2] = 3 under 4             -> 6 + 12 = 18
    //   (1, 0): x[1, 0] = 4 under 2, x[2, 0] = 7 under 4             -> 8 + 28 = 36
    //   (1, 1): 5*1 + 6*2 + 8*3 + 9*4                                -> 77
    const Tensor y = ops::conv2d(x, w, {}, Conv2dFuncOptions().stride(2).padding(1));
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(values(y) == std::vector<double>{4, 18, 36, 77});
    // Two groups: channel 0 as above, channel 1 all ones under w = [[1, 1], [1, 1]] -> 4 everywhere.
    const Tensor x2 = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 2, 3, 3});
    const Tensor w2 = f64({1, 2, 3, 4, 1, 1, 1, 1}, {2, 1, 2, 2});
    CHECK(values(ops::conv2d(x2, w2, {}, Conv2dFuncOptions().groups(2))) ==
          std::vector<double>{37, 47, 67, 77, 4, 4, 4, 4});
    // float32: the same values.
    CHECK(values(ops::conv2d(x.to(DType::Float32), w.to(DType::Float32))) == std::vector<double>{37, 47, 67, 77});
  }
}

TEST_CASE("conv2d gradcheck", "[conv][gradcheck]") {
  // On the reference (the definition) and on the tuned engine (each of its paths).
  for (Engine e : kCpuEngines) {
    const EngineGuard use(conv_engine(), e);
    uint64_t seed = 10;
    for (const ConvCase& c : gradcheck_cases()) {
      INFO(c.what << ", engine " << engine_name(e));
      std::vector<Tensor> in = {rand_leaf(c.x, seed++), rand_leaf(c.w, seed++)};
      if (c.bias) in.push_back(rand_leaf({c.w[0]}, seed++));
      CHECK_GRADCHECK(gradcheck([&](const auto& t) { return conv_of(c, t); }, in));
    }
  }
}

TEST_CASE("conv2d cpu engine matches the reference on larger shapes", "[conv]") {
  // Sizes past the register tiles (16-wide strips, 4-channel blocks) with ragged ends, in float64
  // (exact up to rounding) and float32.
  const std::vector<ConvCase> cases = {
      {"3x3 pad 1, 7 channels", {2, 5, 11, 21}, {7, 5, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"1x1, 14x14", {3, 9, 14, 14}, {10, 9, 1, 1}, Conv2dFuncOptions(), true},
      {"3x3 pad 0, 30x30", {2, 3, 30, 30}, {5, 3, 3, 3}, Conv2dFuncOptions(), true},
      {"5x5 pad 2 groups 2", {2, 4, 9, 8}, {6, 2, 5, 5}, Conv2dFuncOptions().padding(2).groups(2), true},
      {"3x3 stride 2 pad 1", {2, 5, 12, 11}, {7, 5, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
      {"8x8 images, 33 of them", {33, 3, 8, 8}, {5, 3, 3, 3}, Conv2dFuncOptions().padding(1), false},
      // channel counts that leave partial register tiles on every axis (13 = 6 + 6 + 1 = 4 + 4 + 4 + 1,
      // C R S = 8 and 20 rows: not multiples of 3)
      {"1x1, 13 channels from 8", {3, 8, 6, 10}, {13, 8, 1, 1}, Conv2dFuncOptions(), true},
      {"2x2, 13 channels from 5", {2, 5, 9, 11}, {13, 5, 2, 2}, Conv2dFuncOptions().padding(1), true},
      // above the size where the CPU kernels split the batch across threads (2^20 multiply-adds)
      {"threaded 3x3", {17, 8, 12, 12}, {12, 8, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"threaded 3x3 stride 2", {13, 8, 16, 16}, {24, 8, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
      // strided: every column phase and dx phase, odd and even sizes, rows and columns past the
      // last window, phases without taps (1x1, stride 3 with a 2-wide kernel), short rows
      {"3x3 stride 2 pad 1, 32x32 (the models' shape)", {3, 5, 32, 32}, {9, 5, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), false},
      {"threaded depthwise 3x3 stride 2", {16, 12, 16, 16}, {12, 1, 3, 3}, Conv2dFuncOptions().stride(2).padding(1).groups(12), false},
      {"threaded 1x1 stride 2", {16, 24, 16, 16}, {40, 24, 1, 1}, Conv2dFuncOptions().stride(2), false},
      {"1x1 stride 2, odd sizes", {3, 5, 9, 7}, {6, 5, 1, 1}, Conv2dFuncOptions().stride(2), true},
      {"3x3 stride 2 pad 0, 8x8 to 3x3", {5, 4, 8, 8}, {6, 4, 3, 3}, Conv2dFuncOptions().stride(2), true},
      {"2x2 stride 3 pad 2", {2, 3, 13, 17}, {5, 3, 2, 2}, Conv2dFuncOptions().stride(3).padding(2), true},
      {"5x4 stride (3, 2) pad (2, 1)", {2, 4, 19, 23}, {7, 4, 5, 4}, Conv2dFuncOptions().stride({3, 2}).padding({2, 1}), true},
      {"3x3 stride (1, 2) groups 2", {3, 6, 10, 35}, {8, 3, 3, 3}, Conv2dFuncOptions().stride({1, 2}).padding(1).groups(2), true},
      {"3x3 stride (2, 1) no padding", {3, 4, 11, 18}, {5, 4, 3, 3}, Conv2dFuncOptions().stride({2, 1}), true},
      // the 16-column deinterleave of stride 2 starting on an even padded column (padding (0, 2):
      // 2 columns on each side) and on an odd one (padding 1), with rows of 2 x 16 + a tail
      {"3x3 stride 2 pad (0, 2), 37 wide", {2, 3, 7, 37}, {4, 3, 3, 3}, Conv2dFuncOptions().stride(2).padding({0, 2}), true},
      {"3x3 stride 2 pad 1, 35 wide", {2, 3, 7, 35}, {4, 3, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
      // small maps, where slots run across row ends (the flat grid): runs split by the row end,
      // slots spanning three rows (5 wide), the last slot past the image, 1x1 without junk columns
      {"3x3 pad 1 on 10x10", {3, 6, 10, 10}, {7, 6, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"threaded 3x3 pad 1 on 5x5", {33, 16, 5, 5}, {12, 16, 3, 3}, Conv2dFuncOptions().padding(1), false},
      {"3x3 pad 0, 5x5 to 3x3", {4, 5, 5, 5}, {6, 5, 3, 3}, Conv2dFuncOptions(), true},
      {"3x3 pad 1 on 3x3", {5, 4, 3, 3}, {6, 4, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"1x1 on 5x5", {3, 7, 5, 5}, {5, 7, 1, 1}, Conv2dFuncOptions(), true},
      {"3x3 pad 1 on 7x13", {2, 3, 7, 13}, {4, 3, 3, 3}, Conv2dFuncOptions().padding(1), true},
      // images smaller than a vector, read in place: the chunk before the last must not read past
      // the tensor's end (an ASan build catches it; the values are checked everywhere)
      {"1x1 on 1x3 images", {4, 1, 1, 3}, {2, 1, 1, 1}, Conv2dFuncOptions(), true},
      {"1x1 stride 2 on 1x1 images", {4, 1, 1, 1}, {3, 1, 1, 1}, Conv2dFuncOptions().stride(2), true},
      {"1x1 on 1x2 images", {8, 1, 1, 2}, {2, 1, 1, 1}, Conv2dFuncOptions(), false},
  };
  check_cpu_engine_cases(cases, 100);
}

TEST_CASE("conv2d cpu engine on image lanes matches the reference", "[conv]") {
  // Every stride-1 pass forced onto image lanes (kernels/cpu/conv.cpp): batches that leave the
  // last lane group part-empty (N not a multiple of 8, or of 4 in float64) and several groups per
  // chunk, padding and none, a 1x1 kernel with padding (its backward data crops dy), groups, bias,
  // non-square kernels (tap offsets r Wi + s), and a batch split across threads. Then the
  // automatic choice on the shapes where it picks lanes.
  struct Restore {
    cpu::ConvLanes before = cpu::conv_lanes();  // MINIDL_CONV_LANES may have set it
    ~Restore() { cpu::set_conv_lanes(before); }
  } restore;
  const std::vector<ConvCase> cases = {
      {"3x3 pad 1 on 5x5, 13 images", {13, 6, 5, 5}, {7, 6, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"3x3 pad 0, 5x5 to 3x3, 45 images", {45, 5, 5, 5}, {6, 5, 3, 3}, Conv2dFuncOptions(), true},
      {"3x3 pad 1 on 10x10, 3 images", {3, 4, 10, 10}, {9, 4, 3, 3}, Conv2dFuncOptions().padding(1), false},
      {"1x1 pad 1 on 4x3", {9, 5, 4, 3}, {6, 5, 1, 1}, Conv2dFuncOptions().padding(1), true},
      {"5x5 pad 2 groups 2", {10, 4, 7, 6}, {6, 2, 5, 5}, Conv2dFuncOptions().padding(2).groups(2), true},
      {"depthwise 3x3 pad 1", {12, 8, 6, 6}, {8, 1, 3, 3}, Conv2dFuncOptions().padding(1).groups(8), true},
      {"3x2 kernel pad (1, 0) on 6x7", {11, 4, 6, 7}, {5, 4, 3, 2}, Conv2dFuncOptions().padding({1, 0}), true},
      {"1x3 kernel pad (0, 1) on 5x9", {9, 3, 5, 9}, {4, 3, 1, 3}, Conv2dFuncOptions().padding({0, 1}), true},
      {"threaded 3x3 pad 1 on 5x5", {37, 16, 5, 5}, {12, 16, 3, 3}, Conv2dFuncOptions().padding(1), false},
      {"3x3 stride 2 (never on lanes)", {9, 3, 9, 9}, {4, 3, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
  };
  cpu::set_conv_lanes(cpu::ConvLanes::Always);
  check_cpu_engine_cases(cases, 300);
  // Automatic: 3x3 on 5x5 maps with 64 images per lane group set (lanes pay there), and on 32x32 (they do not).
  cpu::set_conv_lanes(cpu::ConvLanes::Auto);
  check_cpu_engine_cases({{"auto, 3x3 pad 1 on 5x5, 64 images", {64, 16, 5, 5}, {16, 16, 3, 3}, Conv2dFuncOptions().padding(1), true},
             {"auto, 3x3 pad 1 on 32x32", {2, 3, 32, 32}, {4, 3, 3, 3}, Conv2dFuncOptions().padding(1), true}},
            400);
}

TEST_CASE("conv2d backward of an empty batch gives zero weight gradients", "[conv]") {
  for (const Conv2dFuncOptions& opt : {Conv2dFuncOptions().padding(1), Conv2dFuncOptions().stride(2)}) {
    const Tensor x = rand_leaf({0, 3, 8, 8}, 1);
    const Tensor w = rand_leaf({4, 3, 3, 3}, 2);
    const Tensor b = rand_leaf({4}, 3);
    ops::sum(ops::conv2d(x, w, b, opt)).backward();
    REQUIRE(w.grad().defined());
    for (double v : values(w.grad())) CHECK(v == 0.0);
    for (double v : values(b.grad())) CHECK(v == 0.0);
  }
}

TEST_CASE("conv2d computes only the gradients that are needed", "[conv]") {
  const Tensor x = rand_leaf({2, 3, 6, 6}, 1);
  const Tensor w = rand({4, 3, 3, 3}, DType::Float64);  // a constant: no dw, no saved x needed
  const Tensor b = rand_leaf({4}, 2);
  Tensor y = ops::conv2d(x, w, b, Conv2dFuncOptions().padding(1));
  CHECK(y.grad_fn()->name() == "Conv2dBackward");
  ops::sum(y).backward();
  CHECK(x.grad().defined());
  CHECK(!w.grad().defined());
  // d sum(y) / db[k] = N * P * Q = 2 * 36
  CHECK(values(b.grad()) == std::vector<double>{72, 72, 72, 72});
}

TEST_CASE("conv2d errors", "[conv][errors]") {
  // channel mismatch: both shapes in the message
  CHECK_THROWS_WITH(ops::conv2d(zeros({2, 3, 8, 8}), zeros({4, 5, 3, 3})),
                    Catch::Contains("[2, 3, 8, 8]") && Catch::Contains("[4, 5, 3, 3]"));
  // groups that do not divide C or K
  CHECK_THROWS_WITH(ops::conv2d(zeros({2, 6, 8, 8}), zeros({4, 2, 3, 3}), {}, Conv2dFuncOptions().groups(4)),
                    Catch::Contains("groups = 4") && Catch::Contains("[2, 6, 8, 8]"));
  CHECK_THROWS_WITH(ops::conv2d(zeros({2, 6, 8, 8}), zeros({5, 2, 3, 3}), {}, Conv2dFuncOptions().groups(3)),
                    Catch::Contains("groups = 3") && Catch::Contains("[5, 2, 3, 3]"));
  // kernel larger than the padded input
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 7, 7}), {}, Conv2dFuncOptions().padding(1)),
                    Catch::Contains("larger than the padded input") && Catch::Contains("[1, 1, 7, 7]") &&
                        Catch::Contains("[1, 1, 4, 4]"));
  // wrong ndim
  CHECK_THROWS_WITH(ops::conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})),
                    Catch::Contains("4-D") && Catch::Contains("[3, 8, 8]"));
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3})), Catch::Contains("[4, 3, 3]"));
  // bias, stride, dtype
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), zeros({3})), Catch::Contains("[3]"));
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), {}, Conv2dFuncOptions().stride(0)),
                    Catch::Contains("stride"));
  CHECK_THROWS_AS(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}, DType::Float64)), Error);
}

// ---- CUDA ----------------------------------------------------------------------------------------
namespace {

// The CUDA parity shapes: odd sizes that are not multiples of any tile, strides, groups, 1x1.
std::vector<ConvCase> cuda_cases() {
  return {
      {"3x3 pad 1, 37 channels", {3, 19, 13, 15}, {37, 19, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"3x3 stride 2 pad 1", {3, 19, 13, 15}, {21, 19, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
      {"groups 3", {2, 12, 11, 9}, {9, 4, 3, 3}, Conv2dFuncOptions().padding(1).groups(3), true},
      {"depthwise", {2, 13, 11, 9}, {13, 1, 3, 3}, Conv2dFuncOptions().padding(1).groups(13), true},
      {"1x1", {5, 33, 7, 9}, {70, 33, 1, 1}, Conv2dFuncOptions(), true},
      {"5x3 kernel stride (2, 1)", {2, 7, 17, 10}, {11, 7, 5, 3}, Conv2dFuncOptions().stride({2, 1}).padding({2, 1}), false},
      {"3x3 pad 0 on 30x30", {4, 10, 30, 30}, {20, 10, 3, 3}, Conv2dFuncOptions(), true},
      {"wide: 130 channels", {2, 130, 6, 6}, {129, 130, 3, 3}, Conv2dFuncOptions().padding(1), true},
  };
}

}  // namespace

// Forward and all three gradients (float32) of each engine against the reference: rtol 1e-4, plus
// an absolute slack of 1e-5 of the reference's largest value (a sum of thousands of float32 terms
// that cancels to ~0 keeps rounding errors of that order, and the engines sum in different orders).
TEST_CASE("conv2d cuda engine matches the reference", "[cuda][conv]") {
  uint64_t seed = 1;
  for (const ConvCase& c : cuda_cases()) {
    INFO(c.what);
    Generator gen(seed++);
    const std::vector<Tensor> in = {rand(c.x, {}, &gen, -1, 1), rand(c.w, {}, &gen, -1, 1), rand({c.w[0]}, {}, &gen, -1, 1)};
    check_against_ref(conv_engine(), Engine::Cuda, [&](const auto& t) { return conv_of(c, t); }, in,
                      {true, true, c.bias}, 1e-4, 1e-5);
  }
}

TEST_CASE("conv2d cudnn engine matches the reference", "[cuda][conv][cudnn]") {
  uint64_t seed = 50;
  for (const ConvCase& c : cuda_cases()) {
    INFO(c.what);
    Generator gen(seed++);
    const std::vector<Tensor> in = {rand(c.x, {}, &gen, -1, 1), rand(c.w, {}, &gen, -1, 1), rand({c.w[0]}, {}, &gen, -1, 1)};
    check_against_ref(conv_engine(), Engine::Cudnn, [&](const auto& t) { return conv_of(c, t); }, in,
                      {true, true, c.bias}, 1e-4, 1e-5);
  }
}

namespace {

// A subset of the CPU gradcheck cases (stride 1 and 2, groups, depthwise, non-square, no bias)
// on a smaller batch, with the given CUDA engine.
void gradcheck_conv_on_cuda(Engine engine) {
  const std::vector<ConvCase> cases = {
      {"3x3 pad 1", {2, 6, 5, 7}, {4, 6, 3, 3}, Conv2dFuncOptions().padding(1), true},
      {"3x3 stride 2 pad 1", {2, 6, 5, 7}, {4, 6, 3, 3}, Conv2dFuncOptions().stride(2).padding(1), true},
      {"groups 3 stride 2", {2, 6, 5, 7}, {6, 2, 3, 3}, Conv2dFuncOptions().stride(2).groups(3), true},
      {"depthwise", {2, 6, 5, 7}, {6, 1, 3, 3}, Conv2dFuncOptions().padding(1).groups(6), true},
      {"3x2 kernel pad (1, 0) no bias", {2, 6, 5, 7}, {4, 6, 3, 2}, Conv2dFuncOptions().padding({1, 0}), false},
  };
  const EngineGuard use(conv_engine(), engine);
  uint64_t seed = 10;
  for (const ConvCase& c : cases) {
    INFO(c.what << " engine " << engine_name(engine));
    auto leaf = [&](const Shape& shape) { return rand_leaf(shape, seed++).detach().to(Device::cuda()).requires_grad_(); };
    std::vector<Tensor> in = {leaf(c.x), leaf(c.w)};
    if (c.bias) in.push_back(leaf({c.w[0]}));
    CHECK_GRADCHECK(gradcheck([&](const auto& t) { return conv_of(c, t); }, in));
  }
}

}  // namespace

TEST_CASE("conv2d cuda gradcheck float64", "[cuda][conv][gradcheck]") { gradcheck_conv_on_cuda(Engine::Cuda); }

TEST_CASE("conv2d cudnn gradcheck float64", "[cuda][conv][gradcheck][cudnn]") { gradcheck_conv_on_cuda(Engine::Cudnn); }

namespace {
// A conv shape from (N, C, H, W), K, a square kernel, stride, padding and groups.
Conv2dShape conv_shape(int64_t N, int64_t C, int64_t H, int64_t K, int64_t k, int64_t stride, int64_t pad,
                       int64_t groups = 1) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = s.W = H, s.K = K, s.R = s.S = k, s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad;
  s.groups = groups;
  s.P = s.Q = (H + 2 * pad - k) / stride + 1;
  return s;
}
}  // namespace

TEST_CASE("the cpu conv engine's path per shape class", "[conv][engine]") {
  using namespace cpu::conv_detail;
  struct Restore {
    cpu::ConvLanes before = cpu::conv_lanes();  // MINIDL_CONV_LANES may have set it
    ~Restore() { cpu::set_conv_lanes(before); }
  } restore;
  cpu::set_conv_lanes(cpu::ConvLanes::Auto);
  auto path = [](const Conv2dShape& s, ConvPass pass) { return choose_path(s, pass, 4, 8, 2); };  // float, 2 threads
  // A strided 1x1 without padding (skipnet48k's downsampler): stride 1 on the subsampled image;
  // its backward data runs by phases.
  const Conv2dShape down = conv_shape(128, 8, 32, 16, 1, 2, 0);
  CHECK(path(down, ConvPass::Forward).subsampled);
  CHECK(path(down, ConvPass::BackwardWeight).subsampled);
  CHECK(path(down, ConvPass::BackwardData).phases);
  CHECK_FALSE(path(down, ConvPass::BackwardData).lanes);
  // A strided 3x3: no subsampling, no lanes (they are for stride 1).
  const Conv2dShape strided = conv_shape(128, 16, 16, 16, 3, 2, 1);
  CHECK_FALSE(path(strided, ConvPass::Forward).subsampled);
  CHECK_FALSE(path(strided, ConvPass::Forward).lanes);
  // Small maps at stride 1: images in the lanes (5x5 and 10x10 outputs fill few pixel lanes)...
  CHECK(path(conv_shape(128, 32, 5, 32, 3, 1, 1), ConvPass::Forward).lanes);
  CHECK(path(conv_shape(128, 32, 10, 32, 3, 1, 1), ConvPass::BackwardData).lanes);
  // ... not on 8x8, 16x16 or 32x32 maps, whose rows fill the vectors.
  CHECK_FALSE(path(conv_shape(128, 16, 8, 16, 3, 1, 1), ConvPass::Forward).lanes);
  CHECK_FALSE(path(conv_shape(128, 8, 32, 8, 3, 1, 1), ConvPass::Forward).lanes);
  // Backward weight: lanes for 3x3 kernels with 16 or more channels, at any map size; not for
  // depthwise or 3-channel inputs.
  CHECK(path(conv_shape(128, 16, 16, 16, 3, 1, 1), ConvPass::BackwardWeight).lanes);
  CHECK(path(conv_shape(128, 32, 8, 32, 3, 1, 1), ConvPass::BackwardWeight).lanes);
  CHECK_FALSE(path(conv_shape(128, 48, 16, 48, 3, 1, 1, 48), ConvPass::BackwardWeight).lanes);
  CHECK_FALSE(path(conv_shape(128, 3, 32, 8, 3, 1, 1), ConvPass::BackwardWeight).lanes);
  // Huge lane groups are refused (a group's copies would not fit a cache: 64 channels at 224 x 224).
  cpu::set_conv_lanes(cpu::ConvLanes::Auto);
  CHECK_FALSE(path(conv_shape(16, 64, 224, 64, 3, 1, 1), ConvPass::BackwardWeight).lanes);
  // Threads only past ConvTuning::kParallelMinMacs multiply-adds.
  CHECK_FALSE(path(conv_shape(1, 3, 4, 3, 3, 1, 1), ConvPass::Forward).parallel);
  CHECK(path(conv_shape(128, 8, 32, 8, 3, 1, 1), ConvPass::Forward).parallel);
  // The overrides.
  cpu::set_conv_lanes(cpu::ConvLanes::Always);
  CHECK(path(conv_shape(128, 8, 32, 8, 3, 1, 1), ConvPass::Forward).lanes);
  cpu::set_conv_lanes(cpu::ConvLanes::Never);
  CHECK_FALSE(path(conv_shape(128, 32, 5, 32, 3, 1, 1), ConvPass::Forward).lanes);
}

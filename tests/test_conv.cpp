// conv2d: forward values by hand, gradchecks (every path: stride 1 direct kernel, strided im2col,
// groups, depthwise, 1x1, non-square kernels, padding larger than the kernel), a comparison with
// a plain 7-loop convolution on shapes larger than the register tiles, errors, CUDA parity
// (native and cuDNN engines) and a float64 gradcheck on the GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/engines.h"
#include "core/random.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

struct ConvCase {
  const char* what;
  Shape x, w;
  Conv2dOptions opt;
  bool bias;
};

// N=3, C=6, H=5, W=7 everywhere (odd sizes, not multiples of any vector or tile width).
std::vector<ConvCase> gradcheck_cases() {
  return {
      {"3x3 pad 1", {3, 6, 5, 7}, {4, 6, 3, 3}, Conv2dOptions().padding(1), true},
      {"3x3 stride 2 pad 1", {3, 6, 5, 7}, {4, 6, 3, 3}, Conv2dOptions().stride(2).padding(1), true},
      {"groups 2", {3, 6, 5, 7}, {4, 3, 3, 3}, Conv2dOptions().padding(1).groups(2), true},
      {"groups 3 stride 2", {3, 6, 5, 7}, {6, 2, 3, 3}, Conv2dOptions().stride(2).groups(3), true},
      {"depthwise", {3, 6, 5, 7}, {6, 1, 3, 3}, Conv2dOptions().padding(1).groups(6), true},
      {"depthwise x2 stride 2", {3, 6, 5, 7}, {12, 1, 3, 3}, Conv2dOptions().stride(2).padding(1).groups(6), false},
      {"1x1", {3, 6, 5, 7}, {5, 6, 1, 1}, Conv2dOptions(), true},
      {"1x1 stride 2", {3, 6, 5, 7}, {5, 6, 1, 1}, Conv2dOptions().stride(2), true},
      {"3x2 kernel pad (1, 0) no bias", {3, 6, 5, 7}, {4, 6, 3, 2}, Conv2dOptions().padding(1, 0), false},
      {"3x2 kernel stride (2, 1)", {3, 6, 5, 7}, {4, 6, 3, 2}, Conv2dOptions().stride(2, 1).padding(0, 1), true},
      {"padding 3 > kernel - 1", {3, 6, 5, 7}, {2, 6, 3, 3}, Conv2dOptions().padding(3), true},
      {"5x5 pad 0", {3, 6, 5, 7}, {3, 6, 5, 5}, Conv2dOptions(), false},
  };
}

// The definition, as 7 nested loops, in double: y, and the gradients of sum(r * y).
struct Reference {
  std::vector<double> y, dx, dw, db;
};
Reference reference_conv(const ConvCase& c, const std::vector<double>& x, const std::vector<double>& w,
                         const std::vector<double>& b, const std::vector<double>& r) {
  const int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3], K = c.w[0], Cg = c.w[1], R = c.w[2], S = c.w[3];
  const int64_t G = c.opt.group_count, Kg = K / G, sh = c.opt.stride_h, sw = c.opt.stride_w;
  const int64_t P = (H + 2 * c.opt.pad_h - R) / sh + 1, Q = (W + 2 * c.opt.pad_w - S) / sw + 1;
  Reference ref;
  ref.y.assign(N * K * P * Q, 0.0), ref.dx.assign(x.size(), 0.0), ref.dw.assign(w.size(), 0.0);
  ref.db.assign(K, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t yi = ((n * K + k) * P + p) * Q + q;
          double acc = b.empty() ? 0.0 : b[k];
          ref.db[k] += r[yi];
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t i = 0; i < R; ++i)
              for (int64_t j = 0; j < S; ++j) {
                const int64_t h = p * sh - c.opt.pad_h + i, v = q * sw - c.opt.pad_w + j;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const int64_t xi = ((n * C + (k / Kg) * Cg + cg) * H + h) * W + v;
                const int64_t wi = ((k * Cg + cg) * R + i) * S + j;
                acc += x[xi] * w[wi];
                ref.dx[xi] += r[yi] * w[wi];
                ref.dw[wi] += r[yi] * x[xi];
              }
          ref.y[yi] = acc;
        }
  return ref;
}

Tensor conv_of(const ConvCase& c, const std::vector<Tensor>& in) {
  return ops::conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.opt);
}

}  // namespace

TEST_CASE("conv2d forward values", "[conv]") {
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
  const Tensor y = ops::conv2d(x, w, {}, Conv2dOptions().stride(2).padding(1));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(values(y) == std::vector<double>{4, 18, 36, 77});
  // Two groups: channel 0 as above, channel 1 all ones under w = [[1, 1], [1, 1]] -> 4 everywhere.
  const Tensor x2 = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {1, 2, 3, 3});
  const Tensor w2 = f64({1, 2, 3, 4, 1, 1, 1, 1}, {2, 1, 2, 2});
  CHECK(values(ops::conv2d(x2, w2, {}, Conv2dOptions().groups(2))) ==
        std::vector<double>{37, 47, 67, 77, 4, 4, 4, 4});
  // float32 takes the same kernels (the vector width differs): same values.
  CHECK(values(ops::conv2d(x.to(DType::Float32), w.to(DType::Float32))) == std::vector<double>{37, 47, 67, 77});
}

TEST_CASE("conv2d gradcheck", "[conv][gradcheck]") {
  uint64_t seed = 10;
  for (const ConvCase& c : gradcheck_cases()) {
    INFO(c.what);
    std::vector<Tensor> in = {rand_leaf(c.x, seed++), rand_leaf(c.w, seed++)};
    if (c.bias) in.push_back(rand_leaf({c.w[0]}, seed++));
    CHECK_GRADCHECK(gradcheck([&](const auto& t) { return conv_of(c, t); }, in));
  }
}

TEST_CASE("conv2d matches the definition on larger shapes", "[conv]") {
  // Sizes past the register tiles (16-wide strips, 4-channel blocks) with ragged ends, in float64
  // (exact up to rounding) and float32.
  const std::vector<ConvCase> cases = {
      {"3x3 pad 1, 7 channels", {2, 5, 11, 21}, {7, 5, 3, 3}, Conv2dOptions().padding(1), true},
      {"1x1, 14x14", {3, 9, 14, 14}, {10, 9, 1, 1}, Conv2dOptions(), true},
      {"3x3 pad 0, 30x30", {2, 3, 30, 30}, {5, 3, 3, 3}, Conv2dOptions(), true},
      {"5x5 pad 2 groups 2", {2, 4, 9, 8}, {6, 2, 5, 5}, Conv2dOptions().padding(2).groups(2), true},
      {"3x3 stride 2 pad 1", {2, 5, 12, 11}, {7, 5, 3, 3}, Conv2dOptions().stride(2).padding(1), true},
      {"8x8 images, 33 of them", {33, 3, 8, 8}, {5, 3, 3, 3}, Conv2dOptions().padding(1), false},
      // channel counts that leave partial register tiles on every axis (13 = 6 + 6 + 1 = 4 + 4 + 4 + 1,
      // C R S = 8 and 20 rows: not multiples of 3)
      {"1x1, 13 channels from 8", {3, 8, 6, 10}, {13, 8, 1, 1}, Conv2dOptions(), true},
      {"2x2, 13 channels from 5", {2, 5, 9, 11}, {13, 5, 2, 2}, Conv2dOptions().padding(1), true},
      // above the size where the CPU kernels split the batch across threads (2^20 multiply-adds)
      {"threaded 3x3", {17, 8, 12, 12}, {12, 8, 3, 3}, Conv2dOptions().padding(1), true},
      {"threaded 3x3 stride 2", {13, 8, 16, 16}, {24, 8, 3, 3}, Conv2dOptions().stride(2).padding(1), true},
  };
  for (const ConvCase& c : cases) {
    for (DType dt : {DType::Float64, DType::Float32}) {
      INFO(c.what << " " << dt);
      const Tensor x0 = rand(c.x, DType::Float64, nullptr, -1, 1), w0 = rand(c.w, DType::Float64, nullptr, -1, 1);
      const Tensor b0 = rand({c.w[0]}, DType::Float64, nullptr, -1, 1);
      Tensor x = x0.to(dt).requires_grad_(), w = w0.to(dt).requires_grad_(), b = b0.to(dt).requires_grad_();
      const Tensor y = conv_of(c, {x, w, b});
      const Tensor r = rand(y.shape(), DType::Float64, nullptr, -1, 1);
      const Reference ref = reference_conv(c, values(x.to(DType::Float64)), values(w.to(DType::Float64)),
                                           c.bias ? values(b.to(DType::Float64)) : std::vector<double>{}, values(r));
      ops::sum(ops::mul(y, r.to(dt))).backward();
      const double tol = dt == DType::Float64 ? 1e-10 : 1e-4;
      CHECK_CLOSE(y.to(DType::Float64), f64(ref.y, y.shape()), tol, tol);
      CHECK_CLOSE(x.grad().to(DType::Float64), f64(ref.dx, x.shape()), tol, tol);
      CHECK_CLOSE(w.grad().to(DType::Float64), f64(ref.dw, w.shape()), tol, tol);
      if (c.bias) CHECK_CLOSE(b.grad().to(DType::Float64), f64(ref.db, b.shape()), tol, tol);
    }
  }
}

TEST_CASE("conv2d computes only the gradients that are needed", "[conv]") {
  const Tensor x = rand_leaf({2, 3, 6, 6}, 1);
  const Tensor w = rand({4, 3, 3, 3}, DType::Float64);  // a constant: no dw, no saved x needed
  const Tensor b = rand_leaf({4}, 2);
  Tensor y = ops::conv2d(x, w, b, Conv2dOptions().padding(1));
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
  CHECK_THROWS_WITH(ops::conv2d(zeros({2, 6, 8, 8}), zeros({4, 2, 3, 3}), {}, Conv2dOptions().groups(4)),
                    Catch::Contains("groups = 4") && Catch::Contains("[2, 6, 8, 8]"));
  CHECK_THROWS_WITH(ops::conv2d(zeros({2, 6, 8, 8}), zeros({5, 2, 3, 3}), {}, Conv2dOptions().groups(3)),
                    Catch::Contains("groups = 3") && Catch::Contains("[5, 2, 3, 3]"));
  // kernel larger than the padded input
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 7, 7}), {}, Conv2dOptions().padding(1)),
                    Catch::Contains("larger than the padded input") && Catch::Contains("[1, 1, 7, 7]") &&
                        Catch::Contains("[1, 1, 4, 4]"));
  // wrong ndim
  CHECK_THROWS_WITH(ops::conv2d(zeros({3, 8, 8}), zeros({4, 3, 3, 3})),
                    Catch::Contains("4-D") && Catch::Contains("[3, 8, 8]"));
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3})), Catch::Contains("[4, 3, 3]"));
  // bias, stride, dtype
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), zeros({3})), Catch::Contains("[3]"));
  CHECK_THROWS_WITH(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), {}, Conv2dOptions().stride(0)),
                    Catch::Contains("stride"));
  CHECK_THROWS_AS(ops::conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}, DType::Float64)), Error);
}

// ---- CUDA ----------------------------------------------------------------------------------------
namespace {

// The CUDA parity shapes: odd sizes that are not multiples of any tile, strides, groups, 1x1.
std::vector<ConvCase> cuda_cases() {
  return {
      {"3x3 pad 1, 37 channels", {3, 19, 13, 15}, {37, 19, 3, 3}, Conv2dOptions().padding(1), true},
      {"3x3 stride 2 pad 1", {3, 19, 13, 15}, {21, 19, 3, 3}, Conv2dOptions().stride(2).padding(1), true},
      {"groups 3", {2, 12, 11, 9}, {9, 4, 3, 3}, Conv2dOptions().padding(1).groups(3), true},
      {"depthwise", {2, 13, 11, 9}, {13, 1, 3, 3}, Conv2dOptions().padding(1).groups(13), true},
      {"1x1", {5, 33, 7, 9}, {70, 33, 1, 1}, Conv2dOptions(), true},
      {"5x3 kernel stride (2, 1)", {2, 7, 17, 10}, {11, 7, 5, 3}, Conv2dOptions().stride(2, 1).padding(2, 1), false},
      {"3x3 pad 0 on 30x30", {4, 10, 30, 30}, {20, 10, 3, 3}, Conv2dOptions(), true},
      {"wide: 130 channels", {2, 130, 6, 6}, {129, 130, 3, 3}, Conv2dOptions().padding(1), true},
  };
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : values(t)) m = std::max(m, std::abs(v));
  return m;
}
// float32 agreement: rtol 1e-4, plus an absolute slack of 1e-5 of b's largest element (a sum of
// thousands of float32 terms that cancels to ~0 keeps rounding errors of that order, and the two
// sides sum in different orders).
#define CHECK_PARITY(a, b) CHECK_CLOSE((a), (b), 1e-4, 1e-5 * max_abs(b) + 1e-6)

// Sets the native engine back when a case ends, also through an exception, so one failure does
// not leave cuDNN selected under the cases that run after it.
struct NativeConvAtExit {
  ~NativeConvAtExit() { set_conv_engine(ConvEngine::Native); }
};

// Forward and all three gradients of sum(r * conv) on the CPU and on the GPU (float32).
void check_parity(const ConvCase& c, uint64_t seed) {
  Generator gen(seed);
  const Tensor x = rand(c.x, {}, &gen, -1, 1), w = rand(c.w, {}, &gen, -1, 1), b = rand({c.w[0]}, {}, &gen, -1, 1);
  Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
  Tensor xg = x.to(Device::cuda()).requires_grad_(), wg = w.to(Device::cuda()).requires_grad_(),
         bg = b.to(Device::cuda()).requires_grad_();
  const Tensor yc = conv_of(c, {xc, wc, bc}), yg = conv_of(c, {xg, wg, bg});
  const Tensor r = rand(yc.shape(), {}, &gen, -1, 1);
  CHECK_PARITY(yg.to(Device::cpu()), yc);
  ops::sum(ops::mul(yc, r)).backward();
  ops::sum(ops::mul(yg, r.to(Device::cuda()))).backward();
  CHECK_PARITY(xg.grad().to(Device::cpu()), xc.grad());
  CHECK_PARITY(wg.grad().to(Device::cpu()), wc.grad());
  if (c.bias) CHECK_PARITY(bg.grad().to(Device::cpu()), bc.grad());
}

}  // namespace

TEST_CASE("conv2d cuda parity", "[cuda][conv]") {
  set_conv_engine(ConvEngine::Native);
  uint64_t seed = 1;
  for (const ConvCase& c : cuda_cases()) {
    INFO(c.what);
    check_parity(c, seed++);
  }
}

TEST_CASE("conv2d cudnn agrees with native", "[cuda][conv][cudnn]") {
  const NativeConvAtExit restore{};
  uint64_t seed = 50;
  for (const ConvCase& c : cuda_cases()) {
    INFO(c.what);
    Generator gen(seed++);
    const Tensor x = rand(c.x, Device::cuda(), &gen, -1, 1), w = rand(c.w, Device::cuda(), &gen, -1, 1);
    const Tensor b = rand({c.w[0]}, Device::cuda(), &gen, -1, 1);
    std::vector<Tensor> grads[2];
    Tensor y[2];
    for (int e = 0; e < 2; ++e) {
      set_conv_engine(e == 0 ? ConvEngine::Native : ConvEngine::CuDNN);
      Tensor xe = x.clone().requires_grad_(), we = w.clone().requires_grad_(), be = b.clone().requires_grad_();
      y[e] = conv_of(c, {xe, we, be});
      ops::sum(ops::mul(y[e], y[e])).backward();
      grads[e] = {xe.grad(), we.grad()};
      if (c.bias) grads[e].push_back(be.grad());
    }
    set_conv_engine(ConvEngine::Native);
    CHECK_PARITY(y[1].to(Device::cpu()), y[0].to(Device::cpu()));
    for (size_t i = 0; i < grads[0].size(); ++i) {
      INFO("gradient " << i);
      CHECK_PARITY(grads[1][i].to(Device::cpu()), grads[0][i].to(Device::cpu()));
    }
  }
}

namespace {

// A subset of the CPU gradcheck cases (stride 1 and 2, groups, depthwise, non-square, no bias)
// on a smaller batch, with the given engine.
void gradcheck_conv_on_cuda(ConvEngine engine) {
  const std::vector<ConvCase> cases = {
      {"3x3 pad 1", {2, 6, 5, 7}, {4, 6, 3, 3}, Conv2dOptions().padding(1), true},
      {"3x3 stride 2 pad 1", {2, 6, 5, 7}, {4, 6, 3, 3}, Conv2dOptions().stride(2).padding(1), true},
      {"groups 3 stride 2", {2, 6, 5, 7}, {6, 2, 3, 3}, Conv2dOptions().stride(2).groups(3), true},
      {"depthwise", {2, 6, 5, 7}, {6, 1, 3, 3}, Conv2dOptions().padding(1).groups(6), true},
      {"3x2 kernel pad (1, 0) no bias", {2, 6, 5, 7}, {4, 6, 3, 2}, Conv2dOptions().padding(1, 0), false},
  };
  const NativeConvAtExit restore{};
  set_conv_engine(engine);
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

TEST_CASE("conv2d cuda gradcheck float64", "[cuda][conv][gradcheck]") { gradcheck_conv_on_cuda(ConvEngine::Native); }

TEST_CASE("conv2d cudnn gradcheck float64", "[cuda][conv][gradcheck][cudnn]") {
  gradcheck_conv_on_cuda(ConvEngine::CuDNN);
}

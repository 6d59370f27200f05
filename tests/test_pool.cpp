// Pooling: forward values by hand, gradchecks on odd shapes, errors, CPU/CUDA parity.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/pool.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using ops::Pool2dFuncOptions;
using namespace minidl::testing;

namespace {

// The 4x4 plane used by the hand-computed cases:
//   1 5 2 0
//   3 4 8 7
//   6 6 1 2
//   0 5 3 3
Tensor plane4x4() { return f64({1, 5, 2, 0, 3, 4, 8, 7, 6, 6, 1, 2, 0, 5, 3, 3}, {1, 1, 4, 4}); }

// A float64 leaf holding a random permutation of 0 .. n-1, scaled by 0.01: no two elements are
// within 2 eps of each other, so finite differences never cross a tie of max pooling.
Tensor distinct_leaf(const Shape& s, uint32_t seed) {
  std::vector<double> v(static_cast<size_t>(s.numel()));
  std::iota(v.begin(), v.end(), 0.0);
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  for (double& e : v) e *= 0.01;
  Tensor t = f64(v, s);
  t.requires_grad_();
  return t;
}

// The windows the gradchecks and parity tests run: non-overlapping, padded, overlapping
// (stride < kernel), rectangular.
std::vector<Pool2dFuncOptions> window_cases() {
  return {Pool2dFuncOptions(2), Pool2dFuncOptions(2).stride(2).padding(1), Pool2dFuncOptions(3).stride(2).padding(1),
          Pool2dFuncOptions(3).stride(1).padding(1), Pool2dFuncOptions({2, 3}).stride({1, 2}).padding({1, 0})};
}

// CUDA vs CPU in float32, forward and gradient (dy = a fixed random tensor), for one op.
template <class Op>
void check_cuda_parity(const Tensor& x, Op op) {
  Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
  Tensor yc = op(xc), yg = op(xg);
  CHECK_CLOSE(yg.to(Device::cpu()), yc, 1e-4, 1e-6);
  Generator g(99);
  const Tensor r = randn(yc.shape(), {}, &g);
  ops::sum(ops::mul(yc, r)).backward();
  ops::sum(ops::mul(yg, r.to(Device::cuda()))).backward();
  CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-4, 1e-6);
}

}  // namespace

TEST_CASE("max_pool2d forward values", "[pool]") {
  Tensor x = plane4x4().requires_grad_();
  // 2x2 windows: max(1,5,3,4)=5, max(2,0,8,7)=8, max(6,6,0,5)=6 (a tie: the first 6 wins), max(1,2,3,3)=3
  Tensor y = ops::max_pool2d(x, Pool2dFuncOptions(2));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(values(y) == std::vector<double>{5, 8, 6, 3});
  // The gradient goes to the first maximum of each window: (0,1), (1,2), (2,0) (not (2,1)), (3,2) (not (3,3)).
  ops::sum(y).backward();
  CHECK(values(x.grad()) == std::vector<double>{0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0});

  // 3x3, stride 2, padding 1: output (4 + 2 - 3) / 2 + 1 = 2; windows rows/cols {0,1} or {1,2,3}:
  // max(1,5,3,4)=5, max(5,2,0,4,8,7)=8, max(3,4,6,6,0,5)=6, max(4,8,7,6,1,2,5,3,3)=8
  CHECK(values(ops::max_pool2d(plane4x4(), Pool2dFuncOptions(3).stride(2).padding(1))) == std::vector<double>{5, 8, 6, 8});
  // Padding is -inf, not 0: on -1 .. -16 the corner windows give max(-1,-2,-5,-6) = -1 etc.
  Tensor neg = ops::affine(arange(16, DType::Float64), -1.0, -1.0).view({1, 1, 4, 4});
  CHECK(values(ops::max_pool2d(neg, Pool2dFuncOptions(3).stride(2).padding(1))) == std::vector<double>{-1, -2, -5, -6});

  // Overlapping 3x3 windows, stride 1, padding 1 (16 outputs): several outputs choose the same
  // input and the backward sums them: 8 at (1,2) is the max of 9 windows, the first 6 of 4, ...
  Tensor x2 = plane4x4().requires_grad_();
  Tensor y2 = ops::max_pool2d(x2, Pool2dFuncOptions(3).stride(1).padding(1));
  CHECK(values(y2) == std::vector<double>{5, 8, 8, 8, 6, 8, 8, 8, 6, 8, 8, 8, 6, 6, 6, 3});
  ops::sum(y2).backward();
  CHECK(values(x2.grad()) == std::vector<double>{0, 1, 0, 0, 0, 0, 9, 0, 4, 1, 0, 0, 0, 0, 1, 0});

  // A NaN wins its window (PyTorch's rule), so it propagates instead of being silently dropped.
  CHECK(std::isnan(values(ops::max_pool2d(f64({1, NAN, 3, 2}, {1, 1, 2, 2}), Pool2dFuncOptions(2)))[0]));

  // Rectangular window on several planes: (1, 2) windows of [[1, 2, 3, 4]] and [[8, 7, 6, 5]].
  CHECK(values(ops::max_pool2d(f64({1, 2, 3, 4, 8, 7, 6, 5}, {1, 2, 1, 4}), Pool2dFuncOptions({1, 2}))) ==
        std::vector<double>{2, 4, 8, 6});
}

TEST_CASE("max_pool2d gradcheck", "[pool][gradcheck]") {
  for (const Pool2dFuncOptions& o : window_cases()) {
    INFO("kernel " << o.kernel_size() << " stride " << o.stride() << " pad " << o.padding());
    CHECK_GRADCHECK(gradcheck([o](const auto& in) { return ops::max_pool2d(in[0], o); },
                              {distinct_leaf({3, 6, 5, 7}, 7)}));
  }
}

TEST_CASE("avg_pool2d forward values", "[pool]") {
  // 2x2: (1+5+3+4)/4 = 3.25, (2+0+8+7)/4 = 4.25, (6+6+0+5)/4 = 4.25, (1+2+3+3)/4 = 2.25
  CHECK(values(ops::avg_pool2d(plane4x4(), Pool2dFuncOptions(2))) == std::vector<double>{3.25, 4.25, 4.25, 2.25});
  // 3x3, stride 2, padding 1, count_include_pad: the padding adds zeros and the divisor stays 9:
  // (1+5+3+4)/9 = 13/9, (5+2+0+4+8+7)/9 = 26/9, (3+4+6+6+0+5)/9 = 24/9, (4+8+7+6+1+2+5+3+3)/9 = 39/9
  const std::vector<double> y = values(ops::avg_pool2d(plane4x4(), Pool2dFuncOptions(3).stride(2).padding(1)));
  const std::vector<double> expected{13.0 / 9, 26.0 / 9, 24.0 / 9, 39.0 / 9};
  REQUIRE(y.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(y[i] == Approx(expected[i]).epsilon(1e-14));
  // Backward of the 2x2 case with dy = 1: every input is in exactly one window: 1/4 each.
  Tensor x = plane4x4().requires_grad_();
  ops::sum(ops::avg_pool2d(x, Pool2dFuncOptions(2))).backward();
  CHECK(values(x.grad()) == std::vector<double>(16, 0.25));
}

TEST_CASE("avg_pool2d gradcheck", "[pool][gradcheck]") {
  for (const Pool2dFuncOptions& o : window_cases()) {
    INFO("kernel " << o.kernel_size() << " stride " << o.stride() << " pad " << o.padding());
    CHECK_GRADCHECK(gradcheck([o](const auto& in) { return ops::avg_pool2d(in[0], o); }, {rand_leaf({3, 6, 5, 7}, 8)}));
  }
}

TEST_CASE("adaptive_avg_pool2d forward values", "[pool]") {
  // Global: the mean of each plane: (1+2+3+4)/4 = 2.5 and (10+20+30+60)/4 = 30.
  Tensor g = ops::adaptive_avg_pool2d(f64({1, 2, 3, 4, 10, 20, 30, 60}, {1, 2, 2, 2}), 1);
  CHECK(g.shape() == Shape{1, 2, 1, 1});
  CHECK(values(g) == std::vector<double>{2.5, 30});
  // 7 -> 3 rows (does not divide): windows rows floor(i*7/3) .. ceil((i+1)*7/3) - 1 = {0,1,2}, {2,3,4}, {4,5,6}
  // (they overlap). x[h][w] = 2h + w on a 7x2 plane, out (3, 1): means of 0..5, 4..9, 8..13 = 2.5, 6.5, 10.5.
  Tensor x = arange(14, DType::Float64).view({1, 1, 7, 2}).requires_grad_();
  Tensor y = ops::adaptive_avg_pool2d(x, {3, 1});
  CHECK(values(y) == std::vector<double>{2.5, 6.5, 10.5});
  // Same along columns: x[0][w] = w on a 1x7 plane, out (1, 3): means of {0,1,2}, {2,3,4}, {4,5,6} = 1, 3, 5.
  CHECK(values(ops::adaptive_avg_pool2d(arange(7, DType::Float64).view({1, 1, 1, 7}), {1, 3})) ==
        std::vector<double>{1, 3, 5});
  // Backward with dy = 1: each window spreads 1/6 over its 6 elements; rows 2 and 4 are in two windows.
  ops::sum(y).backward();
  const double s = 1.0 / 6;
  CHECK(values(x.grad()) == std::vector<double>{s, s, s, s, 2 * s, 2 * s, s, s, 2 * s, 2 * s, s, s, s, s});
}

TEST_CASE("adaptive_avg_pool2d gradcheck", "[pool][gradcheck]") {
  // Global, non-dividing (5 -> 3, 7 -> 3), mixed and larger than the input (5 -> 6, 7 -> 9).
  for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 3}, {2, 4}, {6, 9}}) {
    INFO("output " << oh << "x" << ow);
    CHECK_GRADCHECK(gradcheck([oh = oh, ow = ow](const auto& in) { return ops::adaptive_avg_pool2d(in[0], {oh, ow}); },
                              {rand_leaf({3, 6, 5, 7}, 9)}));
  }
}

TEST_CASE("pool errors", "[pool][errors]") {
  const Tensor x = zeros({1, 2, 2, 3});
  // The window does not fit the (padded) input: the message names the input shape.
  CHECK_THROWS_WITH(ops::max_pool2d(x, Pool2dFuncOptions(4)), Catch::Contains("[1, 2, 2, 3]") && Catch::Contains("4x4"));
  CHECK_THROWS_WITH(ops::avg_pool2d(x, Pool2dFuncOptions(3)), Catch::Contains("[1, 2, 2, 3]"));
  // Padding more than half the kernel is refused, as in PyTorch.
  CHECK_THROWS_WITH(ops::max_pool2d(zeros({1, 1, 8, 8}), Pool2dFuncOptions(3).padding(2)),
                    Catch::Contains("padding (2, 2)") && Catch::Contains("at most half"));
  CHECK_THROWS_WITH(ops::avg_pool2d(zeros({1, 1, 8, 8}), Pool2dFuncOptions(2).padding({0, 2})),
                    Catch::Contains("at most half"));
  CHECK_NOTHROW(ops::max_pool2d(zeros({1, 1, 8, 8}), Pool2dFuncOptions(3).padding(1)));
  // Bad arguments and inputs.
  CHECK_THROWS_WITH(ops::max_pool2d(zeros({2, 3}), Pool2dFuncOptions(2)),
                    Catch::Contains("[2, 3]") && Catch::Contains("4-D"));
  CHECK_THROWS_WITH(ops::max_pool2d(x, Pool2dFuncOptions(2).stride(0)), Catch::Contains("stride"));
  CHECK_THROWS_WITH(ops::avg_pool2d(x, Pool2dFuncOptions(0)), Catch::Contains("kernel"));
  CHECK_THROWS_WITH(ops::adaptive_avg_pool2d(x, {0, 2}), Catch::Contains("[1, 2, 2, 3]"));
  CHECK_THROWS_WITH(ops::adaptive_avg_pool2d(zeros({2, 3, 4}), 1), Catch::Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(ops::max_pool2d(labels({1, 2, 3, 4}).view({1, 1, 2, 2}), Pool2dFuncOptions(2)),
                    Catch::Contains("int64"));
}

TEST_CASE("max_pool2d cuda parity", "[cuda][pool]") {
  // Odd sizes that are not multiples of the block size; float32 random values (ties are unlikely,
  // and a tie would resolve identically on both devices anyway).
  const Tensor x = rand({3, 5, 37, 29}, {}, nullptr, -1, 1);
  for (const Pool2dFuncOptions& o : window_cases()) {
    INFO("kernel " << o.kernel_size() << " stride " << o.stride() << " pad " << o.padding());
    check_cuda_parity(x, [o](const Tensor& t) { return ops::max_pool2d(t, o); });
  }
}

TEST_CASE("avg_pool2d cuda parity", "[cuda][pool]") {
  const Tensor x = rand({3, 5, 37, 29}, {}, nullptr, -1, 1);
  for (const Pool2dFuncOptions& o : window_cases()) {
    INFO("kernel " << o.kernel_size() << " stride " << o.stride() << " pad " << o.padding());
    check_cuda_parity(x, [o](const Tensor& t) { return ops::avg_pool2d(t, o); });
  }
}

TEST_CASE("adaptive_avg_pool2d cuda parity", "[cuda][pool]") {
  // (1, 1) and (2, 3) take the warp-per-output forward, (7, 5) and (50, 40) the thread-per-output one.
  const Tensor x = rand({3, 5, 37, 29}, {}, nullptr, -1, 1);
  for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 3}, {7, 5}, {50, 40}}) {
    INFO("output " << oh << "x" << ow);
    check_cuda_parity(x, [oh = oh, ow = ow](const Tensor& t) { return ops::adaptive_avg_pool2d(t, {oh, ow}); });
  }
}

TEST_CASE("the tuned pooling engine matches the reference", "[pool][engine]") {
  // Odd planes and sizes, every window case, ties (integer-valued inputs) and a NaN; float32 and float64.
  Generator g(21);
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& shape : {Shape{2, 3, 7, 9}, Shape{1, 5, 11, 6}, Shape{3, 1, 4, 4}}) {
      INFO(shape << " " << dt);
      Tensor x = rand(shape, dt, &g, -3, 3);
      Tensor ties = ops::affine(rand(shape, DType::Float64, &g, 0, 4).to(dt), 1.0, 0.0);
      {
        NoGradGuard no_grad;  // integer values: many ties inside a window
        auto v = values(ties);
        for (double& e : v) e = std::floor(e);
        ties = tensor(v, shape, TensorOptions().dtype(dt));
      }
      for (const Tensor& in : {x, ties})
        for (const Pool2dFuncOptions& o : window_cases()) {
          check_against_ref(pool_engine(), Engine::Cpu, [o](const auto& t) { return ops::max_pool2d(t[0], o); }, {in},
                            {true}, 0.0, 0.0);
          check_against_ref(pool_engine(), Engine::Cpu, [o](const auto& t) { return ops::avg_pool2d(t[0], o); }, {in},
                            {true}, 1e-6, 1e-6);
        }
      for (int64_t out : {1, 2, 3, 5})
        check_against_ref(pool_engine(), Engine::Cpu,
                          [out](const auto& t) { return ops::adaptive_avg_pool2d(t[0], {out, out}); }, {x}, {true}, 1e-6,
                          1e-6);
    }
}

// softmax and log_softmax: forward values by hand, stability, gradchecks along every dim, CPU/CUDA parity.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/engine.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// Every element of t is within tol of the expected values.
void check_values(const Tensor& t, const std::vector<double>& expected, double tol) {
  const std::vector<double> v = values(t);
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i);
    CHECK(v[i] == Approx(expected[i]).margin(tol));
  }
}

bool all_finite(const Tensor& t) {
  for (double v : values(t))
    if (!std::isfinite(v)) return false;
  return true;
}

using SoftmaxFn = Tensor (*)(const Tensor&, int64_t);

// Reference softmax / log_softmax along `dim` and its backward for upstream gradient dy, in
// double with std::exp, straight from the definitions (no shared code with the kernels).
struct Reference {
  std::vector<double> y, dx;
};
Reference reference(const Tensor& x, const Tensor& dy, int64_t dim, bool log) {
  const Shape& s = x.shape();
  const int64_t outer = s.prod(0, dim), D = s[dim], inner = s.prod(dim + 1, s.ndim());
  const std::vector<double> xv = values(x), dyv = values(dy);
  Reference r{std::vector<double>(xv.size()), std::vector<double>(xv.size())};
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t k) { return static_cast<size_t>((o * D + k) * inner + i); };
      double m = xv[at(0)], sum = 0, dot = 0, dsum = 0;
      for (int64_t k = 0; k < D; ++k) m = std::max(m, xv[at(k)]);
      for (int64_t k = 0; k < D; ++k) sum += std::exp(xv[at(k)] - m);
      for (int64_t k = 0; k < D; ++k) {
        const double p = std::exp(xv[at(k)] - m) / sum;
        r.y[at(k)] = log ? xv[at(k)] - m - std::log(sum) : p;
        dot += dyv[at(k)] * p, dsum += dyv[at(k)];
      }
      for (int64_t k = 0; k < D; ++k) {
        const double p = std::exp(xv[at(k)] - m) / sum;
        r.dx[at(k)] = log ? dyv[at(k)] - p * dsum : p * (dyv[at(k)] - dot);
      }
    }
  return r;
}

// The cuda engine against the reference in float32: the forward and dL/dx for L = sum(y * r)
// with a fixed random r.
void check_cuda_parity(SoftmaxFn op, const Shape& shape, int64_t dim) {
  INFO("shape " << shape << ", dim " << dim);
  const EngineGuard ref(softmax_engine(), Engine::Ref);  // the CPU side
  Generator g(shape.numel() + static_cast<uint64_t>(dim));
  const Tensor x = rand(shape, DType::Float32, &g, -4, 4), r = randn(shape, DType::Float32, &g);
  Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
  Tensor yc = op(xc, dim), yg = op(xg, dim);
  CHECK_CLOSE(yg.to(Device::cpu()), yc, 1e-4, 1e-6);
  yc.backward(r);
  yg.backward(r.to(Device::cuda()));
  CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-4, 1e-5);
}

// Row lengths for every CUDA thread mapping: groups of 1..32 lanes, a warp striding over a long
// row, one block per row (D > 1024), and strided rows (inner > 1).
void check_cuda_parity_all(SoftmaxFn op) {
  for (const Shape& s : {Shape{7, 1}, Shape{9, 2}, Shape{37, 10}, Shape{513, 10}, Shape{11, 17},
                         Shape{33, 1000}, Shape{5, 2000}})
    check_cuda_parity(op, s, 1);
  for (int64_t dim : {0, 1, 2, -1}) check_cuda_parity(op, Shape{3, 5, 7}, dim);
  check_cuda_parity(op, Shape{2, 10, 9, 11}, 1);  // over the channels of an NCHW tensor
}

}  // namespace

TEST_CASE("softmax forward values", "[softmax]") {
  for_each_cpu_engine(softmax_engine(), [&](Engine) {
    const double l2 = std::log(2.0), l3 = std::log(3.0);
    // Rows: exp([0, ln 2, ln 3]) = [1, 2, 3], sum 6 -> [1/6, 2/6, 3/6]; equal logits -> 1/3 each.
    const Tensor x = f64({0, l2, l3, 5, 5, 5}, {2, 3});
    check_values(ops::softmax(x, 1), {1.0 / 6, 2.0 / 6, 3.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
    check_values(ops::softmax(x, -1), {1.0 / 6, 2.0 / 6, 3.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
    check_values(ops::softmax(x.to(DType::Float32), 1), {1.0 / 6, 2.0 / 6, 3.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-6);
    // Over dim 0 (columns, the strided path): [0, 0] -> [1/2, 1/2]; [0, ln 3] -> [1/4, 3/4];
    // [ln 3, 0] -> [3/4, 1/4].
    const Tensor xc = f64({0, 0, l3, 0, l3, 0}, {2, 3});
    check_values(ops::softmax(xc, 0), {0.5, 0.25, 0.75, 0.5, 0.75, 0.25}, 1e-12);
    check_values(ops::softmax(xc.to(DType::Float32), 0), {0.5, 0.25, 0.75, 0.5, 0.75, 0.25}, 1e-6);
    // A single class: probability 1.
    check_values(ops::softmax(f64({-3, 7}, {2, 1}), 1), {1, 1}, 0);
    CHECK(ops::softmax(x, 1).shape() == Shape{2, 3});
  });
}

TEST_CASE("log_softmax forward values", "[softmax]") {
  for_each_cpu_engine(softmax_engine(), [&](Engine) {
    const double l2 = std::log(2.0), l3 = std::log(3.0), l4 = std::log(4.0), l6 = std::log(6.0);
    // log([1/6, 2/6, 3/6]) = [-ln 6, ln 2 - ln 6, ln 3 - ln 6]; log(1/3) = -ln 3.
    const Tensor x = f64({0, l2, l3, 5, 5, 5}, {2, 3});
    check_values(ops::log_softmax(x, 1), {-l6, l2 - l6, l3 - l6, -l3, -l3, -l3}, 1e-12);
    check_values(ops::log_softmax(x.to(DType::Float32), 1), {-l6, l2 - l6, l3 - l6, -l3, -l3, -l3}, 1e-6);
    // [1, 2, 2] over dim 1 (inner = 2): column 0 is (0, ln 3) -> (-ln 4, ln 3 - ln 4), column 1 is
    // (ln 3, 0) -> (ln 3 - ln 4, -ln 4).
    const Tensor x3 = f64({0, l3, l3, 0}, {1, 2, 2});
    check_values(ops::log_softmax(x3, 1), {-l4, l3 - l4, l3 - l4, -l4}, 1e-12);
    check_values(ops::log_softmax(x3.to(DType::Float32), 1), {-l4, l3 - l4, l3 - l4, -l4}, 1e-6);
  });
}

TEST_CASE("softmax is stable for large logits", "[softmax]") {
  for_each_cpu_engine(softmax_engine(), [&](Engine) {
    // Shifted by the max (1000): exponents [0, -2000, -1, -1000] -> [1, 0, e^-1, 0]; s = 1 + e^-1.
    const double s = 1.0 + std::exp(-1.0), ls = std::log(s);
    const std::vector<double> logits{1000, -1000, 999, 0};
    for (DType dt : {DType::Float32, DType::Float64}) {
      INFO(dt);
      const double tol = dt == DType::Float32 ? 1e-6 : 1e-12;
      const Tensor x = tensor(logits, {4}, dt);
      const Tensor y = ops::softmax(x, 0), ly = ops::log_softmax(x, 0);
      CHECK(all_finite(y));
      CHECK(all_finite(ly));
      check_values(y, {1 / s, 0, std::exp(-1.0) / s, 0}, tol);
      check_values(ly, {-ls, -2000 - ls, -1 - ls, -1000 - ls}, 1e-4);
      // The same values as the computation on the shifted logits, which never sees a large number.
      CHECK_CLOSE(y, ops::softmax(x - 1000.0, 0), 1e-6, 1e-7);
      CHECK_CLOSE(ly, ops::log_softmax(x - 1000.0, 0), 1e-6, 1e-7);
      // Strided rows (softmax over dim 0 of [4, 3]) and the backward pass stay finite too.
      Tensor x2 = tensor({1000, 1, -5, -1000, 2, -6, 999, 3, -7, 0, 4, -8}, {4, 3}, dt).requires_grad_();
      const Tensor y2 = ops::softmax(x2, 0);
      CHECK(all_finite(y2));
      check_values(ops::softmax(x2.detach(), 0).view({12}).slice_rows(0, 1), {1 / s}, tol);
      ops::sum(ops::mul(y2, y2)).backward();
      CHECK(all_finite(x2.grad()));
      Tensor x3 = tensor(logits, {1, 4}, dt).requires_grad_();
      ops::sum(ops::mul(ops::log_softmax(x3, 1), tensor({1, 2, 3, 4}, {1, 4}, dt))).backward();
      CHECK(all_finite(x3.grad()));
    }
  });
}

TEST_CASE("softmax matches a direct computation", "[softmax]") {
  for_each_cpu_engine(softmax_engine(), [&](Engine) {
    // Every CPU path: chunks of short rows (D < 64, more than 64 rows), long rows, tiles of
    // strided rows (inner = 65: a full tile and a tail of 1), and the OpenMP-parallel versions.
    const std::vector<std::pair<Shape, int64_t>> cases{{{130, 10}, 1}, {{2000, 10}, 1}, {{3, 100}, 1},
                                                       {{300, 100}, 1}, {{4, 70, 65}, 1}, {{70, 300}, 0},
                                                       {{5, 3, 1}, 2}};
    for (const auto& [shape, dim] : cases)
      for (bool log : {false, true})
        for (DType dt : {DType::Float32, DType::Float64}) {
          INFO("shape " << shape << ", dim " << dim << (log ? ", log_softmax " : ", softmax ") << dt);
          Generator g(static_cast<uint64_t>(shape.numel()));
          Tensor x = rand(shape, dt, &g, -8, 8).requires_grad_();
          const Tensor dy = randn(shape, dt, &g);
          const Tensor y = log ? ops::log_softmax(x, dim) : ops::softmax(x, dim);
          y.backward(dy);
          const Reference ref = reference(x.detach(), dy, dim, log);
          const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
          CHECK_CLOSE(y, tensor(ref.y, shape, DType::Float64), tol, tol);
          CHECK_CLOSE(x.grad(), tensor(ref.dx, shape, DType::Float64), tol, tol);
        }
  });
}

TEST_CASE("softmax cpu engine matches the reference", "[softmax]") {
  // Odd shapes through every path of the tuned engine: chunks of short rows (with a ragged last
  // chunk), long rows, tiles of strided rows with a tail, one class.
  const std::vector<std::pair<Shape, int64_t>> cases{{{131, 10}, 1}, {{3, 67}, 1},  {{5, 129}, 1},
                                                     {{3, 7, 67}, 1}, {{67, 5}, 0}, {{9, 1}, 1}};
  for (const auto& [shape, dim] : cases)
    for (DType dt : {DType::Float32, DType::Float64}) {
      INFO("shape " << shape << ", dim " << dim << " " << dt);
      Generator g(static_cast<uint64_t>(shape.numel()) + 3);
      const Tensor x = rand(shape, dt, &g, -6, 6);
      const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
      for (SoftmaxFn op : {&ops::softmax, &ops::log_softmax})
        check_against_ref(softmax_engine(), Engine::Cpu, [op, d = dim](const auto& in) { return op(in[0], d); },
                          {x}, {true}, tol, tol);
    }
}

TEST_CASE("softmax gradcheck", "[softmax][gradcheck]") {
  for_each_cpu_engine(softmax_engine(), [&](Engine) {
    for (int64_t dim : {0, 1, 2, -1}) {
      INFO("dim " << dim);
      CHECK_GRADCHECK(
          gradcheck([dim](const auto& in) { return ops::softmax(in[0], dim); }, {rand_leaf({3, 5, 7}, 1, -2, 2)}));
    }
    // A single class; more than one chunk of short rows; long rows.
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::softmax(in[0], 1); }, {rand_leaf({4, 1}, 2)}));
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::softmax(in[0], 1); }, {rand_leaf({67, 2}, 2)}));
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::softmax(in[0], -1); }, {rand_leaf({2, 70}, 2)}));
  });
}

TEST_CASE("log_softmax gradcheck", "[softmax][gradcheck]") {
  for_each_cpu_engine(softmax_engine(), [&](Engine) {
    for (int64_t dim : {0, 1, 2, -1}) {
      INFO("dim " << dim);
      CHECK_GRADCHECK(
          gradcheck([dim](const auto& in) { return ops::log_softmax(in[0], dim); }, {rand_leaf({3, 5, 7}, 3, -2, 2)}));
    }
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::log_softmax(in[0], 1); }, {rand_leaf({4, 1}, 4)}));
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::log_softmax(in[0], 1); }, {rand_leaf({67, 2}, 4)}));
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::log_softmax(in[0], -1); }, {rand_leaf({2, 70}, 4)}));
  });
}

TEST_CASE("softmax errors", "[softmax][errors]") {
  CHECK_THROWS_WITH(ops::softmax(zeros({2, 3}), 2), Catch::Contains("softmax") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(ops::log_softmax(zeros({2, 3}), -3), Catch::Contains("log_softmax") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(ops::softmax(labels({1, 2}), 0), Catch::Contains("int64"));
  CHECK_THROWS_WITH(ops::softmax(zeros(Shape{}), 0), Catch::Contains("at least one dimension"));
}

TEST_CASE("softmax graph and saved output", "[softmax]") {
  Tensor x = rand_leaf({2, 3}, 5);
  const Tensor y = ops::softmax(x, 1), ly = ops::log_softmax(x, 1);
  CHECK(y.grad_fn()->name() == "SoftmaxBackward");
  CHECK(ly.grad_fn()->name() == "LogSoftmaxBackward");
  // Rows of a softmax sum to 1; backward of sum(y) is therefore exactly zero.
  check_values(ops::sum(y, 1), {1, 1}, 1e-12);
  ops::sum(y).backward();
  check_values(x.grad(), std::vector<double>(6, 0.0), 1e-12);
}

TEST_CASE("softmax cuda parity", "[cuda][softmax]") { check_cuda_parity_all(&ops::softmax); }

TEST_CASE("log_softmax cuda parity", "[cuda][softmax]") { check_cuda_parity_all(&ops::log_softmax); }

TEST_CASE("softmax float64 gradcheck on cuda", "[cuda][softmax][gradcheck]") {
  auto cuda_leaf = [](const Shape& s, uint64_t seed) {
    return rand_leaf(s, seed, -2, 2).detach().to(Device::cuda()).requires_grad_();
  };
  for (int64_t dim : {0, 1, 2}) {
    INFO("dim " << dim);
    CHECK_GRADCHECK(gradcheck([dim](const auto& in) { return ops::softmax(in[0], dim); }, {cuda_leaf({3, 5, 7}, 6)}));
    CHECK_GRADCHECK(
        gradcheck([dim](const auto& in) { return ops::log_softmax(in[0], dim); }, {cuda_leaf({3, 5, 7}, 7)}));
  }
  // One block per row (D > 1024).
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::log_softmax(in[0], 1); }, {cuda_leaf({2, 1100}, 8)}));
}

// Broadcasting binary ops (kernels/broadcast.h): PyTorch's shape rule, values, the gradient summed
// back to each input's shape, float64 gradchecks, errors, and the CUDA kernels against the reference.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// Shape pairs that broadcast (PyTorch's rule), with the result's shape.
struct Pair {
  Shape a, b, out;
};
const std::vector<Pair>& pairs() {
  static const std::vector<Pair> p = {
      {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}, {2, 3, 4}},       {{2, 3, 4}, {3, 1}, {2, 3, 4}},
      {{1, 3, 1}, {2, 1, 4}, {2, 3, 4}}, {{5}, {2, 5}, {2, 5}},             {{2, 3, 1, 1}, {1, 3, 2, 2}, {2, 3, 2, 2}},
      {{1}, {3, 2}, {3, 2}},             {{3, 1, 2}, {1}, {3, 1, 2}}};
  return p;
}

constexpr BinaryOp kOps[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Maximum,
                             BinaryOp::Minimum};

}  // namespace

TEST_CASE("broadcast shapes follow PyTorch's rule", "[broadcast]") {
  for (const Pair& p : pairs()) {
    INFO(p.a << " and " << p.b);
    CHECK(ops::broadcast_shapes("add", p.a, p.b) == p.out);
    CHECK(ops::broadcast_shapes("add", p.b, p.a) == p.out);
  }
  CHECK_THROWS_WITH(ops::add(zeros({2, 3}), zeros({3, 2})),
                    Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]") && Catch::Contains("cannot be broadcast"));
  CHECK_THROWS_WITH(ops::div(zeros({4, 3}), zeros({2, 1})), Catch::Contains("div") && Catch::Contains("4 vs 2"));
  CHECK_THROWS_WITH(ops::maximum(zeros({2}), zeros({2}, DType::Float64)), Catch::Contains("maximum"));
  std::vector<int64_t> nine(9, 1);
  CHECK_THROWS_WITH(ops::add(zeros(Shape(nine)), zeros({2})), Catch::Contains("at most 8 dimensions"));
}

TEST_CASE("broadcast values: every element from the right input elements", "[broadcast]") {
  // h [2, 3] times a per-column scale [3] and a per-row shift [2, 1].
  const Tensor h = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(values(ops::mul(h, f64({10, 100, 1000}, {3}))) == std::vector<double>{10, 200, 3000, 40, 500, 6000});
  CHECK(values(ops::add(h, f64({-1, 1}, {2, 1}))) == std::vector<double>{0, 1, 2, 5, 6, 7});
  CHECK(values(ops::sub(f64({1}, {1}), h)) == std::vector<double>{0, -1, -2, -3, -4, -5});
  CHECK(values(h / f64({2}, {1})) == std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3});
  CHECK(values(ops::div(h, h)) == std::vector<double>{1, 1, 1, 1, 1, 1});  // equal shapes too
  CHECK(values(ops::maximum(h, f64({3}, {1}))) == std::vector<double>{3, 3, 3, 4, 5, 6});
  CHECK(values(ops::minimum(h, f64({3, 0, 9}, {3}))) == std::vector<double>{1, 0, 3, 3, 0, 6});
  const Tensor nan = f64({std::nan(""), 1}, {2});
  CHECK(std::isnan(values(ops::maximum(nan, f64({0, 0}, {2})))[0]));  // NaN propagates, as in PyTorch
  CHECK(std::isnan(values(ops::minimum(f64({0, 0}, {2}), nan))[0]));
  // The gradient of the broadcast input is summed over the broadcast dims: d/dscale sum(h * scale).
  Tensor scale = f64({1, 1, 1}, {3}).requires_grad_();
  ops::sum(ops::mul(h, scale)).backward();
  CHECK(values(scale.grad()) == std::vector<double>{5, 7, 9});
  // maximum splits a tie's gradient in two, as PyTorch does.
  Tensor a = f64({2, 5}, {2}).requires_grad_(), b = f64({2}, {1}).requires_grad_();
  ops::sum(ops::maximum(a, b)).backward();
  CHECK(values(a.grad()) == std::vector<double>{0.5, 1});
  CHECK(values(b.grad()) == std::vector<double>{0.5});
}

TEST_CASE("broadcast gradcheck", "[broadcast][gradcheck]") {
  uint64_t seed = 70;
  for (const BinaryOp op : kOps)
    for (const Pair& p : pairs()) {
      INFO(binary_op_name(op) << " " << p.a << " and " << p.b);
      // Division needs b away from 0, maximum / minimum inputs that never tie.
      const Tensor a = rand_leaf(p.a, ++seed, -2, 2);
      const Tensor b = op == BinaryOp::Div ? rand_leaf(p.b, ++seed, 0.5, 2) : rand_leaf(p.b, ++seed, -2.1, 1.9);
      CHECK_GRADCHECK(gradcheck([op](const auto& in) { return ops::binary(op, in[0], in[1]); }, {a, b}));
    }
}

TEST_CASE("broadcast cuda parity", "[cuda][broadcast]") {
  Generator g(12);
  for (const DType dt : {DType::Float32, DType::Float64})
    for (const BinaryOp op : kOps)
      for (const Pair& p : pairs()) {
        INFO(binary_op_name(op) << " " << p.a << " and " << p.b << " " << dtype_name(dt));
        const Tensor a = rand(p.a, dt, &g, -2, 2), b = rand(p.b, dt, &g, 0.5, 2);
        Tensor ac = a.clone().requires_grad_(), bc = b.clone().requires_grad_();
        Tensor ag = a.to(Device::cuda()).requires_grad_(), bg = b.to(Device::cuda()).requires_grad_();
        const Tensor yc = ops::binary(op, ac, bc), yg = ops::binary(op, ag, bg);
        const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
        CHECK_CLOSE(yg.to(Device::cpu()), yc, tol, tol);
        ops::sum(ops::mul(yc, yc)).backward();
        ops::sum(ops::mul(yg, yg)).backward();
        CHECK_CLOSE(ag.grad().to(Device::cpu()), ac.grad(), 10 * tol, 10 * tol);
        CHECK_CLOSE(bg.grad().to(Device::cpu()), bc.grad(), 10 * tol, 10 * tol);
      }
}

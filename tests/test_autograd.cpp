// The autograd engine: fan-out accumulation, leaves, NoGradGuard, backward twice, graph
// printing, memory over many iterations, and a check that gradcheck itself catches a wrong
// backward (a test that cannot fail proves nothing).
#include <catch2/catch.hpp>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("a tensor used twice gets the sum of both gradients", "[autograd]") {
  // y = x * x + x  ->  dy/dx = 2x + 1
  Tensor x = f64({1, -2, 3}, {3});
  x.requires_grad_();
  Tensor y = ops::sum(ops::add(ops::mul(x, x), x));
  y.backward();
  CHECK(values(x.grad()) == std::vector<double>{3, -3, 7});
}

TEST_CASE("fan-out through a skip connection accumulates in the engine", "[autograd]") {
  // h = relu(x); out = h * 2 + h (the skip)  ->  d out / dx = 3 * [x > 0]
  Tensor x = f64({1, -1, 2, -2}, {4});
  x.requires_grad_();
  Tensor h = ops::relu(x);
  ops::sum(ops::add(h * 2.0, h)).backward();
  CHECK(values(x.grad()) == std::vector<double>{3, 0, 3, 0});
}

TEST_CASE("param.grad accumulates across backward calls until reset", "[autograd]") {
  Tensor w = f64({1, 2}, {2});
  w.requires_grad_();
  ops::sum(w * 3.0).backward();
  ops::sum(w * 3.0).backward();
  CHECK(values(w.grad()) == std::vector<double>{6, 6});
  w.set_grad(Tensor());
  ops::sum(w).backward();
  CHECK(values(w.grad()) == std::vector<double>{1, 1});
}

TEST_CASE("the first gradient into a leaf is copied, not shared", "[autograd]") {
  // AddBackward passes grad_output through unchanged to both inputs; a leaf must not end up
  // sharing that buffer with another leaf, or accumulating into one would change the other.
  Tensor a = f64({1, 2}, {2}), b = f64({3, 4}, {2});
  a.requires_grad_();
  b.requires_grad_();
  ops::add(a, b).backward(f64({1, 1}, {2}));
  Tensor ga = a.grad();
  ops::add_(ga, f64({10, 10}, {2}));
  CHECK(values(b.grad()) == std::vector<double>{1, 1});
}

TEST_CASE("NoGradGuard records nothing", "[autograd]") {
  Tensor x = f64({1, 2}, {2});
  x.requires_grad_();
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    CHECK_THROWS_WITH(y.backward(), Catch::Contains("does not require grad"));
  }
  CHECK(grad_enabled());
  CHECK((x * 2.0).requires_grad());
}

TEST_CASE("backward twice errors clearly unless the graph is retained", "[autograd][errors]") {
  Tensor x = f64({1, 2}, {2});
  x.requires_grad_();
  Tensor y = ops::sum(ops::mul(x, x));
  y.backward();
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("second time") && Catch::Contains("retain_graph"));
  Tensor z = ops::sum(ops::mul(x, x));
  x.set_grad(Tensor());
  z.backward(Tensor(), /*retain_graph=*/true);
  z.backward();
  CHECK(values(x.grad()) == std::vector<double>{4, 8});  // 2 * (2x)
}

TEST_CASE("backward on a non-scalar needs an explicit gradient of the same shape", "[autograd][errors]") {
  Tensor x = f64({1, 2}, {2});
  x.requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("[2]"));
  CHECK_THROWS_WITH(y.backward(f64({1, 2, 3}, {3})), Catch::Contains("[3]") && Catch::Contains("[2]"));
}

TEST_CASE("graph printing names every node", "[autograd]") {
  Tensor x = f64({1, 2}, {2});
  x.requires_grad_();
  Tensor y = ops::sum(ops::relu(x * 2.0));
  const std::string g = graph_str(y);
  CHECK(g.find("SumBackward") != std::string::npos);
  CHECK(g.find("ReluBackward") != std::string::npos);
  CHECK(g.find("AffineBackward <- [leaf [2]]") != std::string::npos);
}

TEST_CASE("no memory growth over 1000 forward/backward iterations", "[autograd][memory]") {
  Tensor w = randn({64, 64});
  w.requires_grad_();
  const Tensor x = randn({64, 64});
  auto step = [&] {
    Tensor h = ops::relu(ops::mul(x, w));
    Tensor loss = ops::sum(ops::add(ops::mul(h, h), h));
    loss.backward();
    w.set_grad(Tensor());
  };
  step();
  const int64_t before = cpu_allocator().stats().current_bytes;
  for (int i = 0; i < 1000; ++i) step();
  CHECK(cpu_allocator().stats().current_bytes == before);
}

TEST_CASE("deep chains back-propagate without recursion", "[autograd]") {
  Tensor x = f64({1}, {1});
  x.requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 300000; ++i) y = y * 1.0;  // a recursive engine would overflow the stack
  ops::sum(y).backward();
  CHECK(values(x.grad()) == std::vector<double>{1});
}

namespace {
// y = x * x with a deliberately wrong backward (x instead of 2x): gradcheck must reject it.
struct WrongSquareBackward : Node {
  Tensor x;
  std::string name() const override { return "WrongSquareBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override { return {ops::mul(dy, x)}; }
};
Tensor wrong_square(const Tensor& x) {
  Tensor y = ops::mul(x.detach(), x.detach());
  if (needs_grad({x})) {
    auto node = std::make_shared<WrongSquareBackward>();
    node->x = x.detach();
    connect(y, node, {x});
  }
  return y;
}
}  // namespace

TEST_CASE("gradcheck detects a wrong backward and names the element", "[autograd][gradcheck]") {
  const auto r = gradcheck([](const auto& in) { return wrong_square(in[0]); }, {rand_leaf({2, 3}, 7, 0.5, 1.5)});
  CHECK_FALSE(r.ok);
  CHECK(r.report.find("input 0 (shape [2, 3])") != std::string::npos);
}

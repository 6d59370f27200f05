// Elementwise ops: forward values by hand, gradchecks, errors, CPU/CUDA parity.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "layers/activation.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("elementwise forward values", "[elementwise]") {
  const Tensor a = f64({1, -2, 3, -4}, {2, 2});
  const Tensor b = f64({0.5, 0.5, 2, 2}, {2, 2});
  CHECK(values(ops::add(a, b)) == std::vector<double>{1.5, -1.5, 5, -2});
  CHECK(values(ops::sub(a, b)) == std::vector<double>{0.5, -2.5, 1, -6});
  CHECK(values(ops::mul(a, b)) == std::vector<double>{0.5, -1, 6, -8});
  CHECK(values(ops::affine(a, 2.0, 1.0)) == std::vector<double>{3, -3, 7, -7});  // 2x + 1
  CHECK(values(ops::relu(a)) == std::vector<double>{1, 0, 3, 0});
  CHECK(values(a * 3.0 - 1.0) == std::vector<double>{2, -7, 8, -13});
  CHECK(values(-a) == std::vector<double>{-1, 2, -3, 4});
}

TEST_CASE("add gradcheck", "[elementwise][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::add(in[0], in[1]); },
                            {rand_leaf({3, 5, 7}, 1), rand_leaf({3, 5, 7}, 2)}));
}

TEST_CASE("sub gradcheck", "[elementwise][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::sub(in[0], in[1]); },
                            {rand_leaf({3, 5, 7}, 1), rand_leaf({3, 5, 7}, 2)}));
}

TEST_CASE("mul gradcheck", "[elementwise][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::mul(in[0], in[1]); },
                            {rand_leaf({3, 5, 7}, 1), rand_leaf({3, 5, 7}, 2)}));
}

TEST_CASE("scalar ops gradcheck", "[elementwise][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return (in[0] * 2.5 + 1.0) / 3.0 - 0.5; }, {rand_leaf({3, 6, 5}, 3)}));
}

TEST_CASE("relu gradcheck", "[elementwise][gradcheck]") {
  // Values away from 0, where relu is not differentiable, so finite differences are exact.
  Tensor x = f64({-1.5, -0.7, -0.2, 0.3, 0.9, 1.4, -2.1, 2.2, 0.45, -0.33, 1.7, -0.9}, {3, 4});
  x.requires_grad_();
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::relu(in[0]); }, {x}));
}

TEST_CASE("silu: values, gradcheck, the layer", "[elementwise][gradcheck]") {
  // PyTorch's silu: x * sigmoid(x); values from the formula, and the limits.
  const Tensor x = f64({-800, -2, -0.5, 0, 0.5, 2, 800}, {7});
  const auto y = values(ops::silu(x));
  for (size_t i = 0; i < y.size(); ++i) {
    const double v = values(x)[i];
    CHECK(y[i] == Approx(v / (1 + std::exp(-v))).epsilon(1e-15).margin(1e-300));
  }
  CHECK(y.front() == 0.0);  // exp overflows to inf: -800 / inf, not NaN
  CHECK(y.back() == 800.0);
  for_each_cpu_engine(elementwise_engine(), [&](Engine) {
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::silu(in[0]); }, {rand_leaf({3, 5, 4}, 5, -4, 4)}));
  });
  nn::SiLU layer;
  CHECK(values(layer(x)) == y);
  CHECK(std::isfinite(values(ops::silu(f64({-800}, {1}).requires_grad_()))[0]));
}

TEST_CASE("elementwise shape mismatch names both shapes", "[elementwise][errors]") {
  const Tensor a = zeros({2, 3}), b = zeros({3, 2});
  CHECK_THROWS_WITH(ops::add(a, b), Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
  CHECK_THROWS_WITH(ops::mul(a, b), Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
  CHECK_THROWS_AS(ops::add(a, zeros({2, 3}, DType::Float64)), Error);
  CHECK_THROWS_WITH(ops::relu(labels({1, 2})), Catch::Contains("int64"));
}

TEST_CASE("elementwise cuda parity", "[cuda][elementwise]") {
  const Tensor a = rand({3, 5, 7}, DType::Float32, nullptr, -1, 1), b = rand({3, 5, 7}, DType::Float32, nullptr, -1, 1);
  const Device gpu = Device::cuda();
  for (auto op : {+[](const Tensor& x, const Tensor& y) { return ops::add(x, y); },
                  +[](const Tensor& x, const Tensor& y) { return ops::sub(x, y); },
                  +[](const Tensor& x, const Tensor& y) { return ops::mul(x, y); },
                  +[](const Tensor& x, const Tensor&) { return ops::relu(x); },
                  +[](const Tensor& x, const Tensor&) { return ops::silu(x); },
                  +[](const Tensor& x, const Tensor&) { return ops::affine(x, -1.5, 0.25); }}) {
    Tensor ac = a.clone().requires_grad_(), bc = b.clone().requires_grad_();
    Tensor ag = a.to(gpu).requires_grad_(), bg = b.to(gpu).requires_grad_();
    Tensor yc = op(ac, bc), yg = op(ag, bg);
    CHECK_CLOSE(yg.to(Device::cpu()), yc, 1e-5, 1e-6);
    ops::sum(ops::mul(yc, yc)).backward();
    ops::sum(ops::mul(yg, yg)).backward();
    CHECK_CLOSE(ag.grad().to(Device::cpu()), ac.grad(), 1e-4, 1e-6);
    if (bc.grad().defined()) CHECK_CLOSE(bg.grad().to(Device::cpu()), bc.grad(), 1e-4, 1e-6);
  }
}

TEST_CASE("the tuned elementwise engine matches the reference", "[elementwise][engine]") {
  Generator g(23);
  for (DType dt : {DType::Float32, DType::Float64})
    for (int64_t n : {int64_t(1), int64_t(37), int64_t(300007)}) {  // 300,007: split across threads
      INFO(n << " " << dt);
      const Tensor a = rand({n}, dt, &g, -2, 2), b = rand({n}, dt, &g, -2, 2);
      EngineChoice& e = elementwise_engine();
      check_against_ref(e, Engine::Cpu, [](const auto& t) { return ops::add(t[0], t[1]); }, {a, b}, {true, true}, 0, 0);
      check_against_ref(e, Engine::Cpu, [](const auto& t) { return ops::sub(t[0], t[1]); }, {a, b}, {true, true}, 0, 0);
      check_against_ref(e, Engine::Cpu, [](const auto& t) { return ops::mul(t[0], t[1]); }, {a, b}, {true, true}, 0, 0);
      check_against_ref(e, Engine::Cpu, [](const auto& t) { return ops::affine(t[0], 0.5, -1.0); }, {a}, {true}, 0, 0);
      check_against_ref(e, Engine::Cpu, [](const auto& t) { return ops::relu(t[0]); }, {a}, {true}, 0, 0);
      check_against_ref(e, Engine::Cpu, [](const auto& t) { return ops::silu(t[0]); }, {a}, {true}, 1e-6, 1e-7);
    }
}

// Shape ops (kernels/shape.h): values as PyTorch defines them, float64 gradchecks, errors, and
// the CUDA strided copy against the reference.
#include <catch2/catch.hpp>

#include <functional>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/shape.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("shape ops: values", "[shape]") {
  const Tensor x = f64({0, 1, 2, 3, 4, 5}, {2, 3});
  const Tensor t = ops::transpose(x, 0, 1);
  CHECK(t.shape() == Shape({3, 2}));
  CHECK(values(t) == std::vector<double>{0, 3, 1, 4, 2, 5});
  const Tensor c = f64({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23}, {2, 3, 4});
  const Tensor p = ops::permute(c, {2, 0, -2});  // [4, 2, 3]: p[k][i][j] = c[i][j][k]
  CHECK(p.shape() == Shape({4, 2, 3}));
  CHECK(values(p)[0 * 6 + 1 * 3 + 2] == 20);   // c[1][2][0]
  CHECK(values(p)[3 * 6 + 0 * 3 + 1] == 7);    // c[0][1][3]
  CHECK(values(ops::narrow(x, 1, 1, 2)) == std::vector<double>{1, 2, 4, 5});
  CHECK(values(ops::narrow(x, -1, -1, 1)) == std::vector<double>{2, 5});  // negative dim and start
  CHECK(values(ops::select(x, 0, 1)) == std::vector<double>{3, 4, 5});
  CHECK(ops::select(x, 1, -1).shape() == Shape({2}));
  CHECK(values(ops::cat({x, f64({9, 9, 9}, {1, 3})}, 0)) == std::vector<double>{0, 1, 2, 3, 4, 5, 9, 9, 9});
  CHECK(values(ops::cat({x, f64({7, 8}, {2, 1})}, 1)) == std::vector<double>{0, 1, 2, 7, 3, 4, 5, 8});
  const Tensor s = ops::stack({x, x}, 1);  // [2, 2, 3]
  CHECK(s.shape() == Shape({2, 2, 3}));
  CHECK(values(s) == std::vector<double>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  CHECK(ops::unsqueeze(x, -1).shape() == Shape({2, 3, 1}));
  CHECK(ops::unsqueeze(x, 0).shape() == Shape({1, 2, 3}));
  CHECK(ops::squeeze(zeros({1, 3, 1})).shape() == Shape({3}));
  CHECK(ops::squeeze(zeros({1, 3, 1}), 2).shape() == Shape({1, 3}));
  CHECK(ops::squeeze(zeros({2, 3}), 0).shape() == Shape({2, 3}));  // not size 1: unchanged, as in PyTorch
  CHECK(ops::cat({zeros({2, 0}), zeros({2, 3})}, 1).shape() == Shape({2, 3}));  // empty parts are fine
}

TEST_CASE("shape ops: gradients", "[shape][gradcheck]") {
  const Tensor a = rand_leaf({2, 3, 4}, 1), b = rand_leaf({2, 5, 4}, 2), c = rand_leaf({2, 1, 4}, 3);
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::permute(in[0], {1, 2, 0}); }, {a}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::transpose(in[0], 0, 2); }, {a}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::narrow(in[0], 2, 1, 2); }, {a}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::select(in[0], 1, 2); }, {a}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::cat({in[0], in[1], in[2]}, 1); }, {a, b, c}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::stack({in[0], in[1]}, -1); }, {a, rand_leaf({2, 3, 4}, 4)}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::squeeze(ops::unsqueeze(in[0], 1)); }, {a}));
  // Only the inputs that require grad get one; the others' slices are not computed.
  Tensor x = f64({1, 2}, {2}).requires_grad_();
  const Tensor fixed = f64({3}, {1});
  ops::sum(ops::mul(ops::cat({fixed, x}), f64({10, 20, 30}, {3}))).backward();
  CHECK(values(x.grad()) == std::vector<double>{20, 30});
}

TEST_CASE("shape ops: errors name the op, the dims and the shapes", "[shape][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(ops::permute(x, {0}), Catch::Contains("permute") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(ops::permute(x, {1, 1}), Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(ops::transpose(x, 0, 2), Catch::Contains("dim 2 is out of range"));
  CHECK_THROWS_WITH(ops::narrow(x, 1, 2, 2), Catch::Contains("outside its size 3"));
  CHECK_THROWS_WITH(ops::select(x, 0, 2), Catch::Contains("index 2 is out of range"));
  CHECK_THROWS_WITH(ops::cat({x, zeros({3, 3})}, 1), Catch::Contains("tensor 1 has shape [3, 3]"));
  CHECK_THROWS_WITH(ops::cat({}, 0), Catch::Contains("no tensors"));
  CHECK_THROWS_WITH(ops::cat({x, zeros({2, 3}, DType::Float64)}), Catch::Contains("cat"));
  CHECK_THROWS_WITH(ops::stack({x, zeros({2, 4})}), Catch::Contains("all must be equal"));
}

TEST_CASE("shape ops cuda parity", "[cuda][shape]") {
  Generator g(31);
  for (const DType dt : {DType::Float32, DType::Float64}) {
    const Tensor a = rand({3, 5, 7, 2}, dt, &g), b = rand({3, 2, 7, 2}, dt, &g);
    using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
    for (const auto& [what, f] : std::vector<std::pair<const char*, Fn>>{
             {"permute", [](const auto& in) { return ops::permute(in[0], {3, 1, 0, 2}); }},
             {"narrow", [](const auto& in) { return ops::narrow(in[0], 2, 2, 4); }},
             {"select", [](const auto& in) { return ops::select(in[0], -1, 1); }},
             {"cat", [](const auto& in) { return ops::cat({in[0], in[1]}, 1); }},
             {"stack", [](const auto& in) { return ops::stack({in[0], in[0]}, 2); }}}) {
      INFO(what << " " << dtype_name(dt));
      Tensor ac = a.clone().requires_grad_(), bc = b.clone().requires_grad_();
      Tensor ag = a.to(Device::cuda()).requires_grad_(), bg = b.to(Device::cuda()).requires_grad_();
      const Tensor yc = f({ac, bc}), yg = f({ag, bg});
      CHECK(yg.to(Device::cpu()).to_vector<double>() == yc.to_vector<double>());  // a copy: exact
      ops::sum(ops::mul(yc, yc)).backward();
      ops::sum(ops::mul(yg, yg)).backward();
      CHECK_CLOSE(ag.grad().to(Device::cpu()), ac.grad(), 1e-6, 1e-6);
      if (bc.grad().defined()) CHECK_CLOSE(bg.grad().to(Device::cpu()), bc.grad(), 1e-6, 1e-6);
    }
  }
}

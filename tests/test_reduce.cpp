// Reductions: sum / mean over everything and over one dimension.
#include <catch2/catch.hpp>

#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("sum and mean forward values", "[reduce]") {
  // x = [[1, 2, 3], [4, 5, 6]]
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(ops::sum(x).item() == 21);                 // 1+2+3+4+5+6
  CHECK(ops::mean(x).item() == 3.5);               // 21 / 6
  CHECK(ops::sum(x).dim() == 0);
  CHECK(values(ops::sum(x, 0)) == std::vector<double>{5, 7, 9});   // column sums
  CHECK(values(ops::sum(x, 1)) == std::vector<double>{6, 15});     // row sums
  CHECK(values(ops::mean(x, -1)) == std::vector<double>{2, 5});    // 6/3, 15/3
  CHECK(ops::sum(x, 1, true).shape() == Shape{2, 1});
  CHECK(ops::sum(x, 1).shape() == Shape{2});
}

TEST_CASE("sum of a large float32 tensor keeps its precision", "[reduce]") {
  // 4M ones: a naive float accumulator stalls at 16,777,216 / loses low bits; double does not.
  CHECK(ops::sum(ones({1 << 22})).item() == double(1 << 22));
  CHECK(ops::mean(full({3, 1 << 20}, 0.1)).item() == Approx(0.1).epsilon(1e-6));
}

TEST_CASE("sum gradcheck", "[reduce][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::sum(in[0]); }, {rand_leaf({3, 5, 7}, 1)}));
  for (int dim : {0, 1, 2})
    CHECK_GRADCHECK(gradcheck([dim](const auto& in) { return ops::sum(in[0], dim); }, {rand_leaf({3, 5, 7}, 2)}));
}

TEST_CASE("mean gradcheck", "[reduce][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::mean(in[0]); }, {rand_leaf({3, 5, 7}, 1)}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::mean(in[0], 1, true); }, {rand_leaf({3, 5, 7}, 3)}));
}

TEST_CASE("reduce errors", "[reduce][errors]") {
  CHECK_THROWS_WITH(ops::sum(zeros({2, 3}), 2), Catch::Contains("[2, 3]"));
}

TEST_CASE("reduce cuda parity", "[cuda][reduce]") {
  const Tensor x = rand({3, 5, 7}, {}, nullptr, -1, 1);
  for (int dim : {-1, 0, 1, 2}) {
    Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
    auto f = [dim](const Tensor& t) { return dim < 0 ? ops::sum(t) : ops::mean(t, dim); };
    Tensor yc = f(xc), yg = f(xg);
    CHECK_CLOSE(yg.to(Device::cpu()), yc, 1e-5, 1e-6);
    ops::sum(ops::mul(yc, yc)).backward();
    ops::sum(ops::mul(yg, yg)).backward();
    CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-4, 1e-6);
  }
  CHECK(ops::sum(ones({1 << 22}, Device::cuda())).item() == double(1 << 22));
}

TEST_CASE("reduce cuda: tall-skinny sums and double accumulation", "[cuda][reduce]") {
  // Sum over dim 0 of [R, 3] (few outputs, many rows): a block per tile of outputs and chunk of
  // rows, plus a second pass over the chunks when R is large.
  for (int64_t rows : {1, 67, 4099, 300007}) {
    INFO(rows << " rows");
    const Tensor x = rand({rows, 3}, {}, nullptr, -1, 1);
    for (int dim : {0, 1}) {
      Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
      const Tensor yc = ops::mean(xc, dim), yg = ops::mean(xg, dim);
      CHECK_CLOSE(yg.to(Device::cpu()), yc, 1e-5, 1e-7);
      ops::sum(ops::mul(yc, yc)).backward();
      ops::sum(ops::mul(yg, yg)).backward();
      CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-5, 1e-9);
    }
  }
  // float32 sums accumulate in double (kernels/reduce.h): 4M copies of 0.1f sum exactly, so the
  // mean is 0.1f to the last bit (a float accumulator is off by ~1e-6 relative).
  const float tenth = 0.1f;
  Tensor big = empty({1 << 22}, Device::cuda());
  big.fill_(tenth);
  CHECK(ops::mean(big).item() == static_cast<double>(tenth));
  CHECK(values(ops::mean(big.view({1 << 20, 4}), 0)) == std::vector<double>(4, static_cast<double>(tenth)));
  CHECK(values(ops::mean(big.view({4, 1 << 20}), 1)) == std::vector<double>(4, static_cast<double>(tenth)));
}

TEST_CASE("the tuned reduction engine matches the reference", "[reduce][engine]") {
  Generator g(22);
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Tensor x = rand({3, 70001}, dt, &g, -1, 1);  // the long-row and threaded paths
    const Tensor y = rand({5, 7, 9}, dt, &g, -1, 1);
    const double tol = dt == DType::Float32 ? 1e-6 : 1e-13;
    check_against_ref(reduce_engine(), Engine::Cpu, [](const auto& t) { return ops::sum(t[0]); }, {x}, {true}, tol, tol);
    for (int64_t dim : {0, 1, 2})
      check_against_ref(reduce_engine(), Engine::Cpu, [dim](const auto& t) { return ops::mean(t[0], dim); }, {y},
                        {true}, tol, tol);
    check_against_ref(reduce_engine(), Engine::Cpu, [](const auto& t) { return ops::sum(t[0], 1); }, {x}, {true}, tol,
                      tol);
  }
}

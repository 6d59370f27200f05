// matmul and linear: forward values and gradchecks on both CPU engines (ref, and Eigen's cpu), and
// every GEMM engine against the reference.
#include <catch2/catch.hpp>

#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("matmul and linear forward values", "[linear]") {
  for_each_cpu_engine(gemm_engine(), [&](Engine) {
    // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]] = [[19, 22], [43, 50]]
    const Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({5, 6, 7, 8}, {2, 2});
    CHECK(values(ops::matmul(a, b)) == std::vector<double>{19, 22, 43, 50});
    // linear: x W^T + bias with W = b: [[1*5+2*6, 1*7+2*8], [3*5+4*6, 3*7+4*8]] + [1, -1] = [[18, 22], [40, 52]]
    CHECK(values(ops::linear(a, b, f64({1, -1}, {2}))) == std::vector<double>{18, 22, 40, 52});
    CHECK(ops::matmul(zeros({3, 4}), zeros({4, 5})).shape() == Shape{3, 5});
  });
}

TEST_CASE("matmul gradcheck", "[linear][gradcheck]") {
  for_each_cpu_engine(gemm_engine(), [&](Engine) {
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::matmul(in[0], in[1]); },
                              {rand_leaf({3, 5}, 1), rand_leaf({5, 7}, 2)}));
  });
}

TEST_CASE("linear gradcheck", "[linear][gradcheck]") {
  for_each_cpu_engine(gemm_engine(), [&](Engine) {
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::linear(in[0], in[1], in[2]); },
                              {rand_leaf({3, 7}, 1), rand_leaf({5, 7}, 2), rand_leaf({5}, 3)}));
    CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::linear(in[0], in[1]); },
                              {rand_leaf({4, 6}, 4), rand_leaf({3, 6}, 5)}));
  });
}

TEST_CASE("linear errors name the shapes", "[linear][errors]") {
  CHECK_THROWS_WITH(ops::matmul(zeros({2, 3}), zeros({4, 5})), Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_WITH(ops::linear(zeros({2, 3}), zeros({4, 5})), Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_WITH(ops::linear(zeros({2, 3}), zeros({4, 3}), zeros({3})), Catch::Contains("[3]"));
  CHECK_THROWS_WITH(ops::linear(zeros({2, 3, 1}), zeros({4, 3})), Catch::Contains("2-D"));
}

namespace {

// matmul and linear (all three gradients) with `engine` against the reference, on sizes that are
// not multiples of any tile, every transpose combination of the GEMM (the backward uses them all).
void check_gemm_engine(Engine engine, DType dt, double tol) {
  Generator g(3);
  const Tensor x = rand({37, 45}, dt, &g, -1, 1), w = rand({29, 45}, dt, &g, -1, 1), b = rand({29}, dt, &g, -1, 1);
  const Tensor a = rand({17, 33}, dt, &g, -1, 1), c = rand({33, 65}, dt, &g, -1, 1);
  check_against_ref(gemm_engine(), engine, [](const auto& in) { return ops::linear(in[0], in[1], in[2]); }, {x, w, b},
                    {true, true, true}, tol, tol * 0.1);
  check_against_ref(gemm_engine(), engine, [](const auto& in) { return ops::matmul(in[0], in[1]); }, {a, c},
                    {true, true}, tol, tol * 0.1);
}

}  // namespace

TEST_CASE("gemm cpu engine matches the reference", "[linear]") {
  check_gemm_engine(Engine::Cpu, DType::Float64, 1e-12);
  check_gemm_engine(Engine::Cpu, DType::Float32, 1e-4);
}

TEST_CASE("matmul with an empty inner dimension is zeros on every engine", "[linear]") {
  for_each_cpu_engine(gemm_engine(), [&](Engine) {
    CHECK(values(ops::matmul(ones({2, 0}), ones({0, 3}))) == std::vector<double>(6, 0.0));
  });
}

TEST_CASE("gemm cuda engine matches the reference", "[cuda][linear]") {
  check_gemm_engine(Engine::Cuda, DType::Float32, 1e-4);
}

TEST_CASE("gemm cublas engine matches the reference", "[cuda][linear][cublas]") {
  check_gemm_engine(Engine::Cublas, DType::Float32, 1e-4);
}

// matmul and linear.
#include <catch2/catch.hpp>

#include "core/engines.h"
#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("matmul and linear forward values", "[linear]") {
  // [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]] = [[19, 22], [43, 50]]
  const Tensor a = f64({1, 2, 3, 4}, {2, 2}), b = f64({5, 6, 7, 8}, {2, 2});
  CHECK(values(ops::matmul(a, b)) == std::vector<double>{19, 22, 43, 50});
  // linear: x W^T + bias with W = b: [[1*5+2*6, 1*7+2*8], [3*5+4*6, 3*7+4*8]] + [1, -1] = [[18, 22], [40, 52]]
  CHECK(values(ops::linear(a, b, f64({1, -1}, {2}))) == std::vector<double>{18, 22, 40, 52});
  CHECK(ops::matmul(zeros({3, 4}), zeros({4, 5})).shape() == Shape{3, 5});
}

TEST_CASE("matmul gradcheck", "[linear][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::matmul(in[0], in[1]); },
                            {rand_leaf({3, 5}, 1), rand_leaf({5, 7}, 2)}));
}

TEST_CASE("linear gradcheck", "[linear][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::linear(in[0], in[1], in[2]); },
                            {rand_leaf({3, 7}, 1), rand_leaf({5, 7}, 2), rand_leaf({5}, 3)}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::linear(in[0], in[1]); },
                            {rand_leaf({4, 6}, 4), rand_leaf({3, 6}, 5)}));
}

TEST_CASE("linear errors name the shapes", "[linear][errors]") {
  CHECK_THROWS_WITH(ops::matmul(zeros({2, 3}), zeros({4, 5})), Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_WITH(ops::linear(zeros({2, 3}), zeros({4, 5})), Catch::Contains("[2, 3]") && Catch::Contains("[4, 5]"));
  CHECK_THROWS_WITH(ops::linear(zeros({2, 3}), zeros({4, 3}), zeros({3})), Catch::Contains("[3]"));
  CHECK_THROWS_WITH(ops::linear(zeros({2, 3, 1}), zeros({4, 3})), Catch::Contains("2-D"));
}

namespace {

// linear and matmul on the GPU with `engine` against the CPU (float32), forward and gradients,
// on sizes that are not multiples of any tile size.
void check_linear_cuda_parity(GemmEngine engine) {
  // Native again when the case ends, also through an exception (else cuBLAS stays selected).
  struct NativeAtExit {
    ~NativeAtExit() { set_gemm_engine(GemmEngine::Native); }
  } const restore{};
  set_gemm_engine(engine);
  const Tensor x = rand({37, 45}, {}, nullptr, -1, 1), w = rand({29, 45}, {}, nullptr, -1, 1), b = rand({29}, {}, nullptr, -1, 1);
  Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
  Tensor xg = x.to(Device::cuda()).requires_grad_(), wg = w.to(Device::cuda()).requires_grad_(),
         bg = b.to(Device::cuda()).requires_grad_();
  Tensor yc = ops::linear(xc, wc, bc), yg = ops::linear(xg, wg, bg);
  CHECK_CLOSE(yg.to(Device::cpu()), yc, 1e-4, 1e-5);
  ops::sum(ops::mul(yc, yc)).backward();
  ops::sum(ops::mul(yg, yg)).backward();
  CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-4, 1e-4);
  CHECK_CLOSE(wg.grad().to(Device::cpu()), wc.grad(), 1e-4, 1e-4);
  CHECK_CLOSE(bg.grad().to(Device::cpu()), bc.grad(), 1e-4, 1e-4);
  CHECK_CLOSE(ops::matmul(xg, wg.detach().to(Device::cpu()).view({45, 29}).to(Device::cuda())).to(Device::cpu()),
              ops::matmul(xc.detach(), wc.detach().view({45, 29})), 1e-4, 1e-5);
}

}  // namespace

TEST_CASE("linear cuda parity", "[cuda][linear]") { check_linear_cuda_parity(GemmEngine::Native); }

TEST_CASE("linear cublas parity", "[cuda][linear][cublas]") { check_linear_cuda_parity(GemmEngine::CuBLAS); }

// nll_loss and cross_entropy: forward values by hand, consistency, gradchecks, label errors, CPU/CUDA parity.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/cuda_context.h"
#include "core/random.h"
#include "kernels/engine.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// N labels in [0, C), deterministic.
Tensor some_labels(int64_t N, int64_t C, uint64_t seed) {
  Generator g(seed);
  const std::vector<double> u = rand({N}, DType::Float64, &g).to_vector<double>();
  std::vector<int64_t> t;
  for (double v : u) t.push_back(std::min<int64_t>(C - 1, static_cast<int64_t>(v * static_cast<double>(C))));
  return labels(t);
}

// The cuda engine against the reference in float32: the loss and d(2.5 * loss)/dx (a non-unit
// upstream gradient).
template <class LossFn>
void check_cuda_parity(const LossFn& loss_fn, int64_t N, int64_t C) {
  INFO("N " << N << ", C " << C);
  const EngineGuard ref(loss_engine(), Engine::Ref);  // the CPU side
  Generator g(static_cast<uint64_t>(N * 1000 + C));
  const Tensor x = rand({N, C}, DType::Float32, &g, -5, 5);
  const Tensor t = some_labels(N, C, static_cast<uint64_t>(C));
  Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
  Tensor lc = loss_fn(xc, t), lg = loss_fn(xg, t.to(Device::cuda()));
  CHECK(lg.is_cuda());
  CHECK_CLOSE(lg.to(Device::cpu()), lc, 1e-4, 1e-6);
  (lc * 2.5).backward();
  (lg * 2.5).backward();
  CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-4, 1e-6);
}

}  // namespace

TEST_CASE("nll_loss forward values", "[loss]") {
  for_each_cpu_engine(loss_engine(), [&](Engine) {
    // Picks lp[0, 2] = -3 and lp[1, 0] = -0.5: loss = -(-3 - 0.5) / 2 = 1.75.
    const Tensor lp = f64({-1, -2, -3, -0.5, -1.5, -2.5}, {2, 3});
    CHECK(ops::nll_loss(lp, labels({2, 0})).item() == Approx(1.75).epsilon(1e-12));
    CHECK(ops::nll_loss(lp.to(DType::Float32), labels({2, 0})).item() == Approx(1.75).epsilon(1e-6));
    CHECK(ops::nll_loss(lp, labels({1, 1})).item() == Approx((2 + 1.5) / 2).epsilon(1e-12));
    CHECK(ops::nll_loss(lp, labels({0, 2})).shape() == Shape{});
  });
}

TEST_CASE("cross_entropy forward values", "[loss]") {
  for_each_cpu_engine(loss_engine(), [&](Engine) {
    const double l2 = std::log(2.0), l3 = std::log(3.0), l6 = std::log(6.0);
    // Row 0: logits [0, ln 2, ln 3] -> p = [1/6, 2/6, 3/6], label 2: -log(1/2) = ln 2.
    // Row 1: logits [ln 3, ln 2, 0] -> p = [3/6, 2/6, 1/6], label 1: -log(1/3) = ln 3.
    // Mean: (ln 2 + ln 3) / 2 = ln 6 / 2.
    const Tensor x = f64({0, l2, l3, l3, l2, 0}, {2, 3});
    const Tensor t = labels({2, 1});
    CHECK(ops::cross_entropy(x, t).item() == Approx(l6 / 2).epsilon(1e-12));
    CHECK(ops::cross_entropy(x.to(DType::Float32), t).item() == Approx(l6 / 2).epsilon(1e-6));
    // Label smoothing 0.1, C = 3: loss_n = -0.9 log p[t] - (0.1 / 3) sum_c log p_c.
    //   row 0: 0.9 ln 2 + (0.1 / 3)(ln 6 + ln 3 + ln 2) = 0.9 ln 2 + (0.2 / 3) ln 6
    //   row 1: 0.9 ln 3 + (0.1 / 3)(ln 2 + ln 3 + ln 6) = 0.9 ln 3 + (0.2 / 3) ln 6
    //   mean:  (0.9 ln 6 + (0.4 / 3) ln 6) / 2 = 0.516667 ln 6 = 0.925742 (PyTorch: 0.925742392434495)
    const double smoothed = (0.9 + 0.4 / 3) * l6 / 2;
    CHECK(ops::cross_entropy(x, t, 0.1).item() == Approx(smoothed).epsilon(1e-12));
    CHECK(ops::cross_entropy(x.to(DType::Float32), t, 0.1).item() == Approx(smoothed).epsilon(1e-6));
    // Large logits stay finite: [1000, 0] with label 0 costs log(1 + e^-1000) = 0; label 1 costs 1000.
    CHECK(ops::cross_entropy(f64({1000, 0}, {1, 2}), labels({0})).item() == Approx(0).margin(1e-12));
    CHECK(ops::cross_entropy(tensor({1000, 0}, {1, 2}), labels({1})).item() == Approx(1000).epsilon(1e-6));
  });
}

TEST_CASE("cross_entropy equals log_softmax + nll_loss", "[loss]") {
  for_each_cpu_engine(loss_engine(), [&](Engine) {
    // With smoothing eps: (1 - eps) nll_loss(lp, t) + eps * (-(1/N) sum_n (1/C) sum_c lp[n, c])
    //                   = (1 - eps) nll_loss(lp, t) - eps * mean(lp),   lp = log_softmax(x).
    // Shapes cover the CPU paths: chunks of short rows (C < 64, more than 64 rows), long rows, and
    // the OpenMP-parallel versions of both.
    for (const auto& [N, C] : {std::pair<int64_t, int64_t>{6, 11}, {130, 10}, {2000, 10}, {7, 100}, {300, 100}})
      for (double eps : {0.0, 0.1})
        for (DType dt : {DType::Float64, DType::Float32}) {
          INFO("N " << N << ", C " << C << ", label_smoothing " << eps << ", " << dt);
          const double tol = dt == DType::Float64 ? 1e-12 : 1e-5;
          const Tensor t = some_labels(N, C, static_cast<uint64_t>(N + C));
          Generator g(static_cast<uint64_t>(N * C));
          const Tensor x0 = rand({N, C}, dt, &g, -4, 4);
          Tensor xa = x0.clone().requires_grad_(), xb = x0.clone().requires_grad_();
          const Tensor la = ops::cross_entropy(xa, t, eps);
          const Tensor lp = ops::log_softmax(xb, 1);
          const Tensor lb = ops::nll_loss(lp, t) * (1 - eps) - ops::mean(lp) * eps;
          CHECK(la.item() == Approx(lb.item()).epsilon(tol));
          (la * 2.5).backward();
          (lb * 2.5).backward();
          CHECK_CLOSE(xa.grad(), xb.grad(), tol, tol);
          CHECK(la.grad_fn()->name() == "CrossEntropyBackward");
        }
  });
}

TEST_CASE("loss cpu engine matches the reference", "[loss]") {
  // The tuned engine's paths: chunks of 64 short rows (with a ragged last one), long rows (C >= 64),
  // one class; with and without label smoothing.
  for (auto [N, C] : {std::pair<int64_t, int64_t>{131, 10}, {3, 67}, {70, 129}, {5, 1}})
    for (DType dt : {DType::Float32, DType::Float64}) {
      INFO("N " << N << ", C " << C << " " << dt);
      Generator g(static_cast<uint64_t>(N * 100 + C));
      const Tensor x = rand({N, C}, dt, &g, -5, 5), t = some_labels(N, C, 11);
      const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
      check_against_ref(loss_engine(), Engine::Cpu, [t](const auto& in) { return ops::nll_loss(in[0], t); }, {x},
                        {true}, tol, tol);
      for (double eps : {0.0, 0.1})
        check_against_ref(loss_engine(), Engine::Cpu,
                          [t, eps](const auto& in) { return ops::cross_entropy(in[0], t, eps); }, {x}, {true}, tol,
                          tol);
    }
}

TEST_CASE("nll_loss gradcheck", "[loss][gradcheck]") {
  for_each_cpu_engine(loss_engine(), [&](Engine) {
    const Tensor t = labels({6, 0, 3, 3, 1});
    CHECK_GRADCHECK(gradcheck([t](const auto& in) { return ops::nll_loss(in[0], t); }, {rand_leaf({5, 7}, 1)}));
    CHECK(ops::nll_loss(rand_leaf({5, 7}, 1), t).grad_fn()->name() == "NllLossBackward");
    // Through log_softmax, as nll_loss is used in practice.
    CHECK_GRADCHECK(
        gradcheck([t](const auto& in) { return ops::nll_loss(ops::log_softmax(in[0], 1), t); }, {rand_leaf({5, 7}, 2)}));
  });
}

TEST_CASE("cross_entropy gradcheck", "[loss][gradcheck]") {
  for_each_cpu_engine(loss_engine(), [&](Engine) {
    const Tensor t = labels({6, 0, 3, 3, 1});
    for (double eps : {0.0, 0.1, 1.0}) {
      INFO("label_smoothing " << eps);
      CHECK_GRADCHECK(gradcheck([t, eps](const auto& in) { return ops::cross_entropy(in[0], t, eps); },
                                {rand_leaf({5, 7}, 3, -3, 3)}));
    }
  });
}

TEST_CASE("loss errors", "[loss][errors]") {
  for_each_cpu_engine(loss_engine(), [&](Engine) {
    const Tensor x = zeros({2, 10});
    // An out-of-range label names the value and the number of classes.
    CHECK_THROWS_WITH(ops::cross_entropy(x, labels({3, 10})),
                      Catch::Contains("cross_entropy") && Catch::Contains("target value 10") &&
                          Catch::Contains("10 classes"));
    CHECK_THROWS_WITH(ops::nll_loss(x, labels({-1, 0})),
                      Catch::Contains("nll_loss") && Catch::Contains("target value -1") &&
                          Catch::Contains("10 classes"));
    // Float targets.
    CHECK_THROWS_WITH(ops::cross_entropy(x, zeros({2})), Catch::Contains("int64") && Catch::Contains("float32"));
    CHECK_THROWS_WITH(ops::nll_loss(x, zeros({2}, DType::Float64)),
                      Catch::Contains("int64") && Catch::Contains("float64"));
    // Batch mismatch names both shapes.
    CHECK_THROWS_WITH(ops::cross_entropy(x, labels({1, 2, 3})), Catch::Contains("[3]") && Catch::Contains("[2, 10]"));
    CHECK_THROWS_WITH(ops::nll_loss(x, labels({1})), Catch::Contains("[1]") && Catch::Contains("[2, 10]"));
    // Wrong ranks and dtypes of the input, smoothing out of range.
    CHECK_THROWS_WITH(ops::cross_entropy(zeros({2, 10, 1}), labels({1, 2})), Catch::Contains("[2, 10, 1]"));
    CHECK_THROWS_WITH(ops::cross_entropy(labels({1, 2}).view({1, 2}), labels({1})), Catch::Contains("int64"));
    CHECK_THROWS_WITH(ops::cross_entropy(x, labels({1, 2}), 1.5), Catch::Contains("label_smoothing"));
    CHECK_THROWS_WITH(ops::cross_entropy(zeros({0, 10}), labels({})), Catch::Contains("[0, 10]"));
  });
}

TEST_CASE("nll_loss cuda parity", "[cuda][loss]") {
  auto nll = [](const Tensor& x, const Tensor& t) { return ops::nll_loss(x, t); };
  for (auto [N, C] : {std::pair<int64_t, int64_t>{1, 1}, {37, 10}, {513, 7}, {33, 1000}, {1500, 3}})
    check_cuda_parity(nll, N, C);
}

TEST_CASE("cross_entropy cuda parity", "[cuda][loss]") {
  // Every thread mapping: groups of 1..32 lanes, a warp striding over the row, a block per row (C > 1024).
  for (double eps : {0.0, 0.1}) {
    auto ce = [eps](const Tensor& x, const Tensor& t) { return ops::cross_entropy(x, t, eps); };
    for (auto [N, C] : {std::pair<int64_t, int64_t>{1, 1}, {9, 2}, {37, 10}, {513, 10}, {11, 17}, {33, 1000},
                        {5, 1500}})
      check_cuda_parity(ce, N, C);
  }
}

TEST_CASE("cross_entropy cuda bad label", "[cuda][loss]") {
  // The kernels report a bad label without a synchronization (the loss call returns); the next
  // synchronization point throws, once.
  const Tensor x = zeros({3, 10}, Device::cuda());
  Tensor loss;
  CHECK_NOTHROW(loss = ops::cross_entropy(x, labels({0, 10, 2}, Device::cuda())));
  CHECK_THROWS_WITH(loss.item(), Catch::Contains("cross_entropy: target value 10") && Catch::Contains("10 classes"));
  CHECK_NOTHROW(loss.item());  // reported once
  CHECK_THROWS_WITH(ops::nll_loss(x, labels({0, 1, -3}, Device::cuda())).item(),
                    Catch::Contains("nll_loss: target value -3") && Catch::Contains("10 classes"));
  // Block-per-row path (C > 1024); cuda::synchronize() is a synchronization point too.
  ops::cross_entropy(zeros({2, 1500}, Device::cuda()), labels({1500, 0}, Device::cuda()));
  CHECK_THROWS_WITH(cuda::synchronize(), Catch::Contains("target value 1500") && Catch::Contains("1500 classes"));
  CHECK_NOTHROW(cuda::synchronize());
  // Target on the CPU, logits on the GPU: checked on the host, at once.
  CHECK_THROWS_WITH(ops::cross_entropy(x, labels({0, 1, 2})), Catch::Contains("cpu") && Catch::Contains("cuda"));
  // A good call after the failures still works.
  CHECK(ops::cross_entropy(x, labels({0, 1, 2}, Device::cuda())).item() == Approx(std::log(10.0)).epsilon(1e-6));
}

// The LR range test: the sweep, divergence, the steepest-descent suggestion, and restoration.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/reduce.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "optim/lr_finder.h"
#include "optim/sgd.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("steepest descent index follows numpy.gradient", "[lr_finder]") {
  // losses 5 4 2 1.5 1.4 3: slopes (one-sided at the ends) -1, -1.5, -1.25, -0.3, 0.75, 1.6
  CHECK(optim::steepest_descent_index({5, 4, 2, 1.5, 1.4, 3}, 0, 0) == 1);
  CHECK(optim::steepest_descent_index({5, 4, 2, 1.5, 1.4, 3}, 2, 0) == 2);  // only [2, 6) considered
  CHECK(optim::steepest_descent_index({5, 4}, 1, 1) == -1);                 // too short to suggest
}

TEST_CASE("lr_find sweeps exponentially, stops on divergence and restores the model", "[lr_finder]") {
  manual_seed(3);
  nn::Linear model(4, 1);
  const Tensor x = randn({32, 4});
  const Tensor y = ops::linear(x, tensor({1, -2, 0.5, 3}, {1, 4}), tensor({0.3}, {1}));
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.01).momentum(0.9));
  const std::vector<double> before = values(model->weight);
  auto batch_loss = [&] {
    Tensor e = ops::sub(model(x), y);
    return ops::mean(ops::mul(e, e));
  };
  const auto r = optim::lr_find(opt, batch_loss, model->state_dict(),
                                optim::LRFinderOptions().start_lr(1e-4).end_lr(100).num_iter(60));
  REQUIRE(r.lrs.size() >= 20);
  CHECK(r.lrs[0] == Approx(1e-4));
  CHECK(r.lrs[1] / r.lrs[0] == Approx(std::pow(1e6, 1.0 / 59)));  // geometric steps
  CHECK(r.diverged);                     // lr 100 on this quadratic blows up
  CHECK(r.lrs.size() < 60);              // ... so it stopped early
  CHECK(r.suggested_lr > 1e-3);          // the loss falls fastest well inside the range
  CHECK(r.suggested_lr < 1.0);
  CHECK(values(model->weight) == before);  // restored
  CHECK(opt.lr() == 0.01);
  CHECK_FALSE(model->weight.grad().defined());
}

TEST_CASE("lr_find restores buffers too (batch norm's running statistics)", "[lr_finder]") {
  manual_seed(4);
  nn::BatchNorm2d bn(3);
  const Tensor x = randn({8, 3, 4, 4});
  optim::SGD opt(bn->parameters(), optim::SGDOptions(0.01));
  const std::vector<double> mean_before = values(bn->running_mean), var_before = values(bn->running_var);
  auto batch_loss = [&] { return ops::mean(ops::mul(bn(x), bn(x))); };
  optim::lr_find(opt, batch_loss, bn->state_dict(), optim::LRFinderOptions().num_iter(20));
  CHECK(values(bn->running_mean) == mean_before);
  CHECK(values(bn->running_var) == var_before);
}

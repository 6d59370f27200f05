// End to end: a two-conv network with batch norm and ReLU, written with raw ops and trained with
// plain gradient descent inside the test, memorizes 32 random images (loss below 0.05).
#include <catch2/catch.hpp>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/view.h"
#include "test_util.h"

using namespace minidl;
using ops::Conv2dFuncOptions;

TEST_CASE("a two-conv network with batch norm learns 32 random images by gradient descent", "[end_to_end]") {
  manual_seed(11);
  const Tensor x = randn({32, 3, 8, 8});
  std::vector<int64_t> y(32);
  for (int i = 0; i < 32; ++i) y[i] = i % 10;
  const Tensor target = labels(y);
  auto param = [](const Shape& s, double scale) { return (randn(s) * scale).detach().requires_grad_(); };
  Tensor w1 = param({16, 3, 3, 3}, 0.3), g1 = ones({16}).requires_grad_(), b1 = zeros({16}).requires_grad_();
  Tensor w2 = param({16, 16, 3, 3}, 0.1), g2 = ones({16}).requires_grad_(), b2 = zeros({16}).requires_grad_();
  Tensor wf = param({10, 256}, 0.05), bf = zeros({10}).requires_grad_();
  Tensor rm1 = zeros({16}), rv1 = ones({16}), rm2 = zeros({16}), rv2 = ones({16});
  std::vector<Tensor> params = {w1, g1, b1, w2, g2, b2, wf, bf};

  double loss = 0;
  for (int step = 0; step < 300; ++step) {
    Tensor h = ops::relu(ops::batch_norm(ops::conv2d(x, w1, {}, Conv2dFuncOptions().padding(1)), rm1, rv1, g1, b1, true));
    h = ops::relu(ops::batch_norm(ops::conv2d(h, w2, {}, Conv2dFuncOptions().padding(1).stride(2)), rm2, rv2, g2, b2, true));
    Tensor l = ops::cross_entropy(ops::linear(ops::flatten(h), wf, bf), target);
    for (Tensor& p : params) p.set_grad(Tensor());
    l.backward();
    {
      NoGradGuard no_grad;
      for (Tensor& p : params) ops::add_(p, p.grad(), -0.2);  // p -= lr * grad
    }
    loss = l.item();
    if (loss < 0.02) break;
  }
  CHECK(loss < 0.05);
}

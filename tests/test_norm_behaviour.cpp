// The behaviour docs/normalization.md describes, beyond the values and gradients test_norm.cpp
// checks: which sets each norm standardizes, layer / instance norm as group norm, parameters vs
// buffers, train vs eval, the running-variance convention, the structure of the backward and
// what it implies for the weights that feed a norm. apps/norm_lab shows the rest on CIFAR-10.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/conv.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "kernels/reduce.h"
#include "layers/models/zoo.h"
#include "layers/norm.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// float64 x [N, C, S] whose channels and samples have different means and scales, so a norm that
// averages over the wrong axes leaves visible structure: x = (1 + c) * u + 0.5 c + 0.3 n, u ~ U(-1, 1).
Tensor structured(int64_t N, int64_t C, int64_t H, int64_t W, uint64_t seed) {
  Generator g(seed);
  std::vector<double> u = values(rand({N, C, H, W}, DType::Float64, &g, -1, 1));
  const int64_t S = H * W;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) {
        double& v = u[(n * C + c) * S + s];
        v = (1 + c) * v + 0.5 * c + 0.3 * n;
      }
  return tensor(u, {N, C, H, W}, DType::Float64);
}

// Mean and biased variance of each set of y [N, C, S...]: groups = 0 -> per channel over (N, S)
// (batch norm's sets); else per (n, g) over (C/groups, S).
struct Moments {
  std::vector<double> mean, var;
};
Moments moments(const Tensor& y, int64_t groups) {
  const std::vector<double> v = values(y);
  const int64_t N = y.size(0), C = y.size(1), S = y.numel() / (N * C);
  const int64_t sets = groups == 0 ? C : N * groups, D = groups == 0 ? 1 : C / groups;
  auto set_of = [&](int64_t n, int64_t c) { return groups == 0 ? c : n * groups + c / D; };
  Moments m{std::vector<double>(sets, 0.0), std::vector<double>(sets, 0.0)};
  std::vector<double> count(sets, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) m.mean[set_of(n, c)] += v[(n * C + c) * S + s], count[set_of(n, c)] += 1;
  for (int64_t k = 0; k < sets; ++k) m.mean[k] /= count[k];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) m.var[set_of(n, c)] += std::pow(v[(n * C + c) * S + s] - m.mean[set_of(n, c)], 2);
  for (int64_t k = 0; k < sets; ++k) m.var[k] /= count[k];
  return m;
}

// Every set has mean 0 and variance 1 (eps = 0 in the calls below, so exactly, up to rounding).
bool standardized(const Moments& m) {
  for (size_t k = 0; k < m.mean.size(); ++k)
    if (std::fabs(m.mean[k]) > 1e-10 || std::fabs(m.var[k] - 1) > 1e-10) return false;
  return true;
}

// sum(y * r) for a fixed random r: a loss whose gradient through a norm is not zero.
Tensor projected(const Tensor& y, uint64_t seed) {
  Generator g(seed);
  return ops::sum(ops::mul(y, rand(y.shape(), TensorOptions().dtype(y.dtype()), &g, -1, 1)));
}

double dot(const Tensor& a, const Tensor& b) {
  const auto u = values(a), v = values(b);
  double s = 0;
  for (size_t i = 0; i < u.size(); ++i) s += u[i] * v[i];
  return s;
}

}  // namespace

TEST_CASE("norm behaviour: each norm standardizes its own sets", "[norm_behaviour]") {
  const int64_t N = 3, C = 6, H = 4, W = 5;
  const Tensor x = structured(N, C, H, W, 1);
  // Batch norm (training): per channel over (N, H*W); not per sample or per (n, c) plane.
  const Tensor bn = ops::batch_norm(x, {}, {}, {}, {}, true, 0.1, 0.0);
  CHECK(standardized(moments(bn, 0)));
  CHECK_FALSE(standardized(moments(bn, 1)));
  CHECK_FALSE(standardized(moments(bn, C)));
  // Layer norm as the zoo builds it (GroupNorm(1, C)): per sample over (C, H*W); not per channel.
  const Tensor ln = ops::group_norm(x, 1, {}, {}, 0.0);
  CHECK(standardized(moments(ln, 1)));
  CHECK_FALSE(standardized(moments(ln, 0)));
  CHECK_FALSE(standardized(moments(ln, 3)));
  // Group norm, G = 3: per (n, g) over (C/G, H*W); the union of a sample's groups (the sample) too,
  // but not the single channels inside a group.
  const Tensor gn = ops::group_norm(x, 3, {}, {}, 0.0);
  CHECK(standardized(moments(gn, 3)));
  CHECK(standardized(moments(gn, 1)));
  CHECK_FALSE(standardized(moments(gn, C)));
  CHECK_FALSE(standardized(moments(gn, 0)));
  // Instance norm (G = C): per (n, c) over H*W, so also per channel over (N, H*W) and per sample.
  const Tensor in = ops::group_norm(x, C, {}, {}, 0.0);
  CHECK(standardized(moments(in, C)));
  CHECK(standardized(moments(in, 0)));
  CHECK(standardized(moments(in, 1)));
  // With the default eps = 1e-5 a set's variance comes out as var / (var + eps), just below 1.
  const Moments e = moments(ops::batch_norm(x, {}, {}, {}, {}, true), 0);
  const Moments raw = moments(x, 0);
  for (int64_t c = 0; c < C; ++c) CHECK(e.var[c] == Approx(raw.var[c] / (raw.var[c] + 1e-5)).epsilon(1e-10));
}

TEST_CASE("norm behaviour: layer norm is group norm with one group", "[norm_behaviour]") {
  const int64_t N = 2, C = 4, H = 3, W = 5;
  const Tensor x = structured(N, C, H, W, 2);
  // Without affine the two ops are the same computation: one set of C*H*W values per sample.
  CHECK_CLOSE(ops::group_norm(x, 1), ops::layer_norm(x, {C, H, W}), 1e-12, 1e-12);
  // Their affine parameters differ: GroupNorm has one (gamma, beta) per channel (2*C values),
  // PyTorch-style LayerNorm one per element of normalized_shape (2*C*H*W). Spreading each channel's
  // value over its plane makes them agree.
  const std::vector<double> gamma = {0.5, 2.0, -1.0, 1.5}, beta = {0.1, -0.2, 0.3, 0.0};
  std::vector<double> g_full, b_full;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < H * W; ++s) g_full.push_back(gamma[c]), b_full.push_back(beta[c]);
  CHECK_CLOSE(ops::group_norm(x, 1, f64(gamma, {C}), f64(beta, {C})),
              ops::layer_norm(x, {C, H, W}, f64(g_full, {C, H, W}), f64(b_full, {C, H, W})), 1e-12, 1e-12);
  CHECK(nn::GroupNorm(1, C)->num_parameters() == 2 * C);
  CHECK(nn::LayerNorm(nn::LayerNormOptions({C, H, W}))->num_parameters() == 2 * C * H * W);
  // The zoo's "layer" norm is GroupNorm(1, C).
  CHECK(nn::make_norm(nn::NormKind::Layer, C, 0)->str() == nn::GroupNorm(1, C)->str());
}

TEST_CASE("norm behaviour: instance norm is group norm with C groups, and batch norm of one sample",
          "[norm_behaviour]") {
  const int64_t N = 3, C = 4, H = 3, W = 3;
  const Tensor x = structured(N, C, H, W, 3);
  // One set per (n, c) plane = batch norm of a batch of one sample with N*C channels.
  const Tensor in = ops::group_norm(x, C);
  CHECK_CLOSE(in, ops::batch_norm(x.view({1, N * C, H * W}), {}, {}, {}, {}, true).view({N, C, H, W}), 1e-12,
              1e-12);
  // Batch norm (training) of a single sample normalizes each plane on its own: instance norm.
  const Tensor x0 = x.slice_rows(0, 1).clone();
  CHECK_CLOSE(ops::batch_norm(x0, {}, {}, {}, {}, true), ops::group_norm(x0, C), 1e-12, 1e-12);
  // Group norm with G groups is layer norm over the rows of x viewed as [N*G, (C/G)*H*W]: a
  // group's channels are adjacent, so its values are contiguous.
  const int64_t row = C / 2 * H * W;
  CHECK_CLOSE(ops::group_norm(x, 2), ops::layer_norm(x.view({N * 2, row}), {row}).view({N, C, H, W}), 1e-12, 1e-12);
}

TEST_CASE("norm behaviour: one value per set normalizes to zero", "[norm_behaviour]") {
  // At 1x1 resolution an instance-norm set is a single value: x - mean = 0, so y = beta whatever
  // x is (the layer's output carries no information about its input).
  const Tensor x = structured(2, 4, 1, 1, 4);
  const Tensor beta = f64({0.5, -1, 2, 0}, {4});
  const auto y = values(ops::group_norm(x, 4, f64({3, 3, 3, 3}, {4}), beta));
  const std::vector<double> expected = {0.5, -1, 2, 0, 0.5, -1, 2, 0};
  for (size_t i = 0; i < y.size(); ++i) CHECK(y[i] == Approx(expected[i]).margin(1e-12));
  // Two values per set: always -1 and +1 (up to eps), whatever their size.
  const auto y2 = values(ops::group_norm(f64({3, 1000, -7, -6}, {1, 2, 2}), 2, {}, {}, 0.0));
  const std::vector<double> signs = {-1, 1, -1, 1};
  for (size_t i = 0; i < 4; ++i) CHECK(y2[i] == Approx(signs[i]).epsilon(1e-12));
  // Batch norm refuses to train on one value per channel instead (test_norm.cpp: "norm errors").
  CHECK_THROWS(ops::batch_norm(structured(1, 4, 1, 1, 5), {}, {}, {}, {}, true));
}

TEST_CASE("norm behaviour: parameters and buffers", "[norm_behaviour]") {
  const int64_t C = 12;
  // Batch norm: 2*C parameters (weight = gamma, bias = beta) and 2*C buffer values.
  nn::BatchNorm2d bn(C);
  CHECK(bn->num_parameters() == 2 * C);
  const NamedTensors bufs = bn->named_buffers();
  REQUIRE(bufs.size() == 2);
  CHECK(bufs[0].first == "running_mean");
  CHECK(bufs[1].first == "running_var");
  CHECK(bufs[0].second.shape() == Shape{C});
  CHECK(values(bufs[0].second) == std::vector<double>(C, 0.0));  // start: mean 0, variance 1
  CHECK(values(bufs[1].second) == std::vector<double>(C, 1.0));
  CHECK_FALSE(bufs[0].second.requires_grad());
  // Buffers are state: in state_dict (saved with a checkpoint), not in parameters() (not trained).
  CHECK(bn->parameters().size() == 2);
  CHECK(bn->state_dict().size() == 4);
  // Group and layer norm: the same 2*C parameters for every group count, and no buffers at all
  // (their mean and variance are recomputed for every sample, never stored).
  for (int64_t G : {1, 2, 3, 4, 6, 12}) {
    nn::GroupNorm gn(G, C);
    CHECK(gn->num_parameters() == 2 * C);
    CHECK(gn->named_buffers().empty());
    CHECK(gn->weight.shape() == Shape{C});
  }
  // So every zoo model has one parameter count whatever its norm; only batch norm adds buffers.
  for (const std::string name : {"convnet39k", "skipnet48k", "c10net48k"}) {
    INFO(name);
    int64_t counts[3], buffers[3];
    int i = 0;
    for (nn::NormKind k : {nn::NormKind::Batch, nn::NormKind::Group, nn::NormKind::Layer}) {
      const auto model = models::make_model(name, models::ModelOptions().norm(k));
      counts[i] = model->num_parameters();
      buffers[i] = 0;
      for (const auto& [n, b] : model->named_buffers()) buffers[i] += b.numel();
      ++i;
    }
    CHECK(counts[0] == counts[1]);
    CHECK(counts[1] == counts[2]);
    CHECK(buffers[0] > 0);
    CHECK(buffers[1] == 0);
    CHECK(buffers[2] == 0);
  }
  CHECK(models::make_model("convnet39k")->num_parameters() == 39056);
}

TEST_CASE("norm behaviour: train and eval", "[norm_behaviour]") {
  const Tensor x = structured(4, 6, 3, 3, 6).to(DType::Float32);
  // Group and layer norm compute the same thing in both modes, and a sample's output does not
  // depend on the other samples of its batch.
  for (int64_t G : {1, 3}) {
    nn::GroupNorm gn(G, 6);
    gn->train();
    const Tensor y_train = gn(x);
    gn->eval();
    CHECK(values(gn(x)) == values(y_train));
    CHECK(values(gn(x.slice_rows(1, 2).clone())) == values(y_train.slice_rows(1, 2)));
  }
  // Batch norm: training normalizes with the batch's statistics and updates the running ones...
  nn::BatchNorm2d bn(6);
  const Tensor y_train = bn(x);
  CHECK(values(bn->running_mean) != std::vector<double>(6, 0.0));
  // ...eval normalizes with the running statistics and leaves them alone; each sample on its own.
  bn->eval();
  const auto rm = values(bn->running_mean), rv = values(bn->running_var);
  const Tensor y_eval = bn(x);
  CHECK(values(bn->running_mean) == rm);
  CHECK(values(bn->running_var) == rv);
  CHECK(close_ratio(y_eval, y_train, 1e-2, 1e-2) > 1.0);
  CHECK(values(bn(x.slice_rows(1, 2).clone())) == values(y_eval.slice_rows(1, 2)));
  // In eval mode batch norm is a fixed per-channel affine map: y = (x - rm) / sqrt(rv + eps).
  const auto xv = values(x), yv = values(y_eval);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 9) % 6;
    CHECK(yv[i] == Approx((xv[i] - rm[c]) / std::sqrt(rv[c] + 1e-5)).epsilon(1e-5).margin(1e-5));
  }
}

TEST_CASE("norm behaviour: momentum weighs the new batch, running_var is unbiased over N*H*W", "[norm_behaviour]") {
  // x [2, 1, 2, 2]: one channel of m = N*H*W = 8 values 0..7: mean 3.5, biased var 42/8 = 5.25,
  // unbiased var 42/7 = 6. With momentum 1 the buffers become the batch statistics exactly:
  // Bessel's m/(m-1) counts every value of the channel (8/7), not the batch size (2/1).
  const Tensor x = f64({0, 1, 2, 3, 4, 5, 6, 7}, {2, 1, 2, 2});
  Tensor rm = f64({0}, {1}), rv = f64({1}, {1});
  ops::batch_norm(x, rm, rv, {}, {}, true, 1.0);
  CHECK(values(rm)[0] == Approx(3.5).epsilon(1e-12));
  CHECK(values(rv)[0] == Approx(6.0).epsilon(1e-12));
  // momentum = 0.1 (the default, PyTorch's convention) is the weight of the NEW batch: the batch
  // x + 10 has mean 13.5 and the same spread, so rm = 0.9 * 3.5 + 0.1 * 13.5 = 4.5, rv = 6.
  ops::batch_norm(x + 10.0, rm, rv, {}, {}, true, 0.1);
  CHECK(values(rm)[0] == Approx(4.5).epsilon(1e-12));
  CHECK(values(rv)[0] == Approx(6.0).epsilon(1e-12));
  // Training itself normalizes with the biased variance: y = (x - 3.5) / sqrt(5.25).
  const auto y = values(ops::batch_norm(x, {}, {}, {}, {}, true, 0.1, 0.0));
  CHECK(y[7] == Approx(3.5 / std::sqrt(5.25)).epsilon(1e-12));
  CHECK(nn::BatchNorm2d(3)->extra_repr().find("momentum=0.1") != std::string::npos);
}

TEST_CASE("norm behaviour: the backward removes the mean and the xhat direction of each set", "[norm_behaviour]") {
  // dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over each set, so (eps = 0)
  //   sum_set dx = 0  and  sum_set dx * xhat = 0,  whatever dy and gamma are.
  const int64_t N = 3, C = 6, H = 4, W = 3, S = H * W;
  const Tensor x0 = structured(N, C, H, W, 7);
  const Tensor gamma0 = f64({0.5, 2, -1, 1.5, 0.7, 3}, {C});
  struct Case {
    const char* name;
    int64_t groups;  // 0: batch norm
  };
  for (const Case& k : {Case{"batch", 0}, Case{"group 3", 3}, Case{"layer", 1}, Case{"instance", C}}) {
    INFO(k.name);
    Tensor x = x0.clone();
    x.requires_grad_();
    const Tensor y = k.groups == 0 ? ops::batch_norm(x, {}, {}, gamma0, {}, true, 0.1, 0.0)
                                   : ops::group_norm(x, k.groups, gamma0, {}, 0.0);
    projected(y, 8).backward();
    const Tensor xhat = k.groups == 0 ? ops::batch_norm(x0, {}, {}, {}, {}, true, 0.1, 0.0)
                                      : ops::group_norm(x0, k.groups, {}, {}, 0.0);
    const auto dx = values(x.grad()), xh = values(xhat);
    const int64_t sets = k.groups == 0 ? C : N * k.groups, D = k.groups == 0 ? 1 : C / k.groups;
    std::vector<double> s1(sets, 0.0), s2(sets, 0.0), scale(sets, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < S; ++s) {
          const int64_t i = (n * C + c) * S + s, set = k.groups == 0 ? c : n * k.groups + c / D;
          s1[set] += dx[i], s2[set] += dx[i] * xh[i], scale[set] += std::fabs(dx[i]);
        }
    for (int64_t j = 0; j < sets; ++j) {
      CHECK(scale[j] > 1e-3);  // the gradient itself is not zero
      CHECK(std::fabs(s1[j]) < 1e-9 * scale[j]);
      CHECK(std::fabs(s2[j]) < 1e-9 * scale[j]);
    }
  }
  // Eval-mode batch norm has no such projection: dx = gamma * invstd * dy, a per-channel scale.
  Tensor x = x0.clone();
  x.requires_grad_();
  const Tensor rm = f64({0, 1, 2, 3, 4, 5}, {C}), rv = f64({1, 4, 9, 1, 4, 9}, {C});
  projected(ops::batch_norm(x, rm, rv, gamma0, {}, false, 0.1, 0.0), 8).backward();
  Generator g(8);
  const auto r = values(rand(x0.shape(), TensorOptions().dtype(DType::Float64), &g, -1, 1));  // dy of projected()
  const auto dx = values(x.grad()), gm = values(gamma0), var = values(rv);
  for (int64_t i = 0; i < x0.numel(); ++i) {
    const int64_t c = (i / S) % C;
    CHECK(dx[i] == Approx(gm[c] / std::sqrt(var[c]) * r[i]).epsilon(1e-12));
  }
}

TEST_CASE("norm behaviour: weights that feed a norm are scale invariant", "[norm_behaviour]") {
  // y = norm(conv(x, a*w)) = norm(conv(x, w)) for a > 0 (eps = 0): the loss is flat along w, so
  // dL/dw is orthogonal to w, and at a*w it is dL/dw / a.
  const Tensor x = structured(4, 3, 6, 6, 9);
  Generator gen(10);
  const Tensor w0 = rand({5, 3, 3, 3}, DType::Float64, &gen, -0.5, 0.5);
  const Tensor b0 = f64({0.3, -0.2, 0.1, 0.5, -0.4}, {5});
  struct Case {
    const char* name;
    int64_t groups;  // 0: batch norm; 5: instance norm
    bool bias_removed;
  };
  for (const Case& k : {Case{"batch", 0, true}, Case{"group 1 (layer)", 1, false}, Case{"instance", 5, true}}) {
    INFO(k.name);
    auto grads = [&](double a, double& loss) {
      Tensor w = (w0 * a).detach(), b = b0.clone();
      w.requires_grad_(), b.requires_grad_();
      const Tensor h = ops::conv2d(x, w, b);
      const Tensor y = k.groups == 0 ? ops::batch_norm(h, {}, {}, {}, {}, true, 0.1, 0.0)
                                     : ops::group_norm(h, k.groups, {}, {}, 0.0);
      const Tensor l = projected(y, 11);
      loss = l.item();
      l.backward();
      return std::make_pair(w.grad(), b.grad());
    };
    double l1 = 0, l10 = 0;
    const auto [dw, db] = grads(1.0, l1);
    const auto [dw10, db10] = grads(10.0, l10);
    // L(a*w, a*b) = L(w, b) for every norm here: the gradient is orthogonal to (w, b).
    CHECK(std::fabs(dot(w0, dw) + dot(b0, db)) < 1e-9 * std::sqrt(dot(dw, dw)));
    if (k.bias_removed) {
      // Batch and instance norm subtract each channel's mean: a per-channel conv bias has no
      // effect, its gradient is zero, and then w alone is scale invariant.
      for (double v : values(db)) CHECK(std::fabs(v) < 1e-10);
      CHECK(l10 == Approx(l1).epsilon(1e-10));
      CHECK_CLOSE(dw10, dw / 10.0, 1e-8, 1e-12);
    } else {
      // Layer norm subtracts one mean per sample: a per-channel bias still matters.
      double largest = 0;
      for (double v : values(db)) largest = std::max(largest, std::fabs(v));
      CHECK(largest > 1e-3);
    }
  }
}

TEST_CASE("norm behaviour: eval-mode gradient uses the statistics of its forward", "[norm_behaviour]") {
  // BatchNormBackward saves (mean, invstd) copies: a training step that updates the running
  // buffers in place between forward and backward does not change this gradient.
  const Tensor x0 = structured(2, 3, 2, 2, 12);
  Tensor x = x0.clone();
  x.requires_grad_();
  Tensor rm = f64({0, 0, 0}, {3}), rv = f64({4, 4, 4}, {3});
  const Tensor y = ops::batch_norm(x, rm, rv, {}, {}, false, 0.1, 0.0);
  ops::batch_norm(x0 * 100.0, rm, rv, {}, {}, true, 0.9);  // changes rm / rv a lot
  CHECK(values(rv)[0] > 100);
  ops::sum(y).backward();
  for (double v : values(x.grad())) CHECK(v == Approx(0.5).epsilon(1e-12));  // 1 / sqrt(4)
}

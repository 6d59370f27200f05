// Random-shape parity sweep: every CUDA op against the reference (kernels/ref/, on the CPU: the
// runner, main_cuda.cpp, makes it the active CPU engine of every family), forward and every gradient,
// on a few hundred shapes drawn from sizes that break kernels (1, primes, one more or one less
// than a tile or a warp), with stride / padding / group combinations for conv and pooling and all
// three norms with several group counts. Shapes alternate between float32 (the training dtype,
// where the CUDA reductions' double accumulation matters) and float64 (tight tolerances).
// The draws are seeded: a failure names its case and reproduces.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/random.h"
#include "kernels/augment.h"
#include "kernels/conv.h"
#include "kernels/dropout.h"
#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "kernels/unary.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/pool.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Seeded draws of the sizes that break kernels.
class Draw {
 public:
  explicit Draw(uint64_t seed) : rng_(seed) {}
  int64_t pick(const std::vector<int64_t>& v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)]; }
  int64_t range(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool coin() { return range(0, 1) == 1; }
  uint64_t seed() { return rng_(); }
  // Small sizes for spatial dims and batches, and wider ones for rows and channels.
  int64_t small() { return pick({1, 2, 3, 4, 5, 7, 8, 9, 11, 13}); }
  int64_t medium() { return pick({1, 2, 3, 5, 7, 15, 16, 17, 31, 32, 33, 37, 63, 64, 65}); }
  int64_t wide() { return pick({1, 3, 17, 31, 33, 63, 65, 127, 129, 255, 257, 511, 1023, 1025, 1031, 2053}); }

 private:
  std::mt19937_64 rng_;
};

DType dtype_of_case(int i) { return i % 2 == 0 ? DType::Float32 : DType::Float64; }

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : values(t)) m = std::max(m, std::abs(v));
  return m;
}

// a (from CUDA) against b (from the CPU): rtol plus an absolute slack relative to b's largest
// element (sums that cancel to ~0 keep rounding errors of that order; the two devices sum in
// different orders).
void check_parity(const Tensor& a, const Tensor& b, DType dt) {
  const double rtol = dt == DType::Float32 ? 1e-4 : 1e-9;
  const double atol = (dt == DType::Float32 ? 1e-5 : 1e-10) * max_abs(b) + (dt == DType::Float32 ? 1e-6 : 1e-12);
  CHECK_CLOSE(a, b, rtol, atol);
}

// Runs f on CPU inputs and on CUDA copies; compares the output and the gradient of every input
// in `grad` (backward of sum(r * y) for a random r).
void check_op(const std::string& what, const Fn& f, const std::vector<Tensor>& inputs, const std::vector<bool>& grad,
              uint64_t seed) {
  INFO(what);
  std::vector<Tensor> xc, xg;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool g = i < grad.size() && grad[i] && inputs[i].defined();
    xc.push_back(!inputs[i].defined() ? Tensor() : g ? inputs[i].clone().requires_grad_() : inputs[i]);
    xg.push_back(!inputs[i].defined() ? Tensor() : g ? inputs[i].to(Device::cuda()).requires_grad_()
                                                     : inputs[i].to(Device::cuda()));
  }
  const Tensor yc = f(xc), yg = f(xg);
  REQUIRE(yg.is_cuda());
  const DType dt = yc.dtype();
  check_parity(yg.to(Device::cpu()), yc, dt);
  if (!yc.requires_grad()) return;
  Generator gen(seed);
  const Tensor r = randn(yc.shape(), dt, &gen);
  ops::sum(ops::mul(yc, r)).backward();
  ops::sum(ops::mul(yg, r.to(Device::cuda()))).backward();
  for (size_t i = 0; i < xc.size(); ++i) {
    if (!xc[i].defined() || !xc[i].requires_grad()) continue;
    INFO("gradient of input " << i);
    REQUIRE(xg[i].grad().defined());
    check_parity(xg[i].grad().to(Device::cpu()), xc[i].grad(), dt);
  }
}

Tensor random(const Shape& s, DType dt, Draw& d, double lo = -1, double hi = 1) {
  Generator g(d.seed());
  return rand(s, dt, &g, lo, hi);
}

std::string str(const Shape& s) { return s.str(); }

}  // namespace

TEST_CASE("cuda sweep: elementwise", "[cuda][sweep]") {
  Draw d(101);
  for (int i = 0; i < 24; ++i) {
    const DType dt = dtype_of_case(i);
    std::vector<int64_t> dims;
    for (int64_t r = d.range(1, 4); r > 0; --r) dims.push_back(r == 1 ? d.wide() : d.small());
    const Shape s(dims);
    const Tensor a = random(s, dt, d), b = random(s, dt, d);
    const double scale = d.real(-2, 2), shift = d.real(-1, 1);
    check_op("add " + str(s), [](const auto& x) { return ops::add(x[0], x[1]); }, {a, b}, {true, true}, d.seed());
    check_op("sub " + str(s), [](const auto& x) { return ops::sub(x[0], x[1]); }, {a, b}, {true, true}, d.seed());
    check_op("mul " + str(s), [](const auto& x) { return ops::mul(x[0], x[1]); }, {a, b}, {true, true}, d.seed());
    check_op("relu " + str(s), [](const auto& x) { return ops::relu(x[0]); }, {a}, {true}, d.seed());
    check_op("silu " + str(s), [](const auto& x) { return ops::silu(x[0]); }, {a}, {true}, d.seed());
    check_op("affine " + str(s), [=](const auto& x) { return ops::affine(x[0], scale, shift); }, {a}, {true}, d.seed());
    check_op("gelu tanh " + str(s), [](const auto& x) { return ops::gelu(x[0], "tanh"); }, {a}, {true}, d.seed());
    check_op("elu " + str(s), [=](const auto& x) { return ops::elu(x[0], scale); }, {a}, {true}, d.seed());
    check_op("clamp " + str(s), [=](const auto& x) { return ops::clamp(x[0], -std::abs(shift), 0.5); }, {a}, {true},
             d.seed());
  }
}

TEST_CASE("cuda sweep: broadcasting binary ops", "[cuda][sweep]") {
  Draw d(111);
  for (int i = 0; i < 24; ++i) {
    const DType dt = dtype_of_case(i);
    std::vector<int64_t> out, da, db;
    for (int64_t r = d.range(1, 4); r > 0; --r) out.push_back(r == 1 ? d.wide() : d.small());
    // Each dimension of each input: the output's size or 1; b may also lack leading dimensions.
    for (int64_t s : out) {
      da.push_back(d.range(0, 2) == 0 ? 1 : s);
      db.push_back(d.range(0, 2) == 0 ? 1 : s);
    }
    db.erase(db.begin(), db.begin() + d.range(0, static_cast<int64_t>(db.size()) - 1));
    const Shape sa(da), sb(db);
    const Tensor a = random(sa, dt, d), b = random(sb, dt, d, 0.5, 2);
    const std::string what = str(sa) + " and " + str(sb);
    check_op("add " + what, [](const auto& x) { return ops::add(x[0], x[1]); }, {a, b}, {true, true}, d.seed());
    check_op("mul " + what, [](const auto& x) { return ops::mul(x[0], x[1]); }, {a, b}, {true, true}, d.seed());
    check_op("div " + what, [](const auto& x) { return ops::div(x[0], x[1]); }, {a, b}, {true, true}, d.seed());
    check_op("maximum " + what, [](const auto& x) { return ops::maximum(x[0], x[1]); }, {a, b}, {true, true},
             d.seed());
  }
}

TEST_CASE("cuda sweep: sum and mean", "[cuda][sweep]") {
  Draw d(102);
  for (int i = 0; i < 30; ++i) {
    const DType dt = dtype_of_case(i);
    std::vector<int64_t> dims;
    for (int64_t r = d.range(1, 4), n = 1; r > 0; --r) {  // at most ~300k elements
      dims.push_back(n * 65 * 65 > 300000 ? d.small() : d.medium());
      n *= dims.back();
    }
    if (i % 5 == 0) dims = {d.pick({1000, 4099, 70001}), d.pick({1, 2, 3, 5})};  // tall and skinny
    if (i % 5 == 1) dims = {d.pick({1, 2, 3}), d.pick({4099, 70001})};            // short and wide
    const Shape s(dims);
    const Tensor x = random(s, dt, d);
    check_op("sum " + str(s), [](const auto& t) { return ops::sum(t[0]); }, {x}, {true}, d.seed());
    for (int64_t dim = 0; dim < s.ndim(); ++dim) {
      check_op("sum dim " + std::to_string(dim) + " " + str(s), [dim](const auto& t) { return ops::sum(t[0], dim); },
               {x}, {true}, d.seed());
      check_op("mean dim " + std::to_string(dim) + " " + str(s),
               [dim](const auto& t) { return ops::mean(t[0], dim, true); }, {x}, {true}, d.seed());
    }
  }
}

TEST_CASE("cuda sweep: softmax and log_softmax", "[cuda][sweep]") {
  Draw d(103);
  for (int i = 0; i < 30; ++i) {
    const DType dt = dtype_of_case(i);
    std::vector<int64_t> dims = {d.small(), d.wide()};
    if (d.coin()) dims.push_back(d.small());
    const Shape s(dims);
    const int64_t dim = d.range(0, s.ndim() - 1);
    const Tensor x = random(s, dt, d, -5, 5);
    check_op("softmax dim " + std::to_string(dim) + " " + str(s), [dim](const auto& t) { return ops::softmax(t[0], dim); },
             {x}, {true}, d.seed());
    check_op("log_softmax dim " + std::to_string(dim) + " " + str(s),
             [dim](const auto& t) { return ops::log_softmax(t[0], dim); }, {x}, {true}, d.seed());
  }
}

TEST_CASE("cuda sweep: nll_loss and cross_entropy", "[cuda][sweep]") {
  Draw d(104);
  for (int i = 0; i < 30; ++i) {
    const DType dt = dtype_of_case(i);
    const int64_t N = d.pick({1, 2, 3, 7, 31, 33, 65, 257, 513}), C = d.pick({1, 2, 3, 5, 10, 17, 33, 100, 1025, 1500});
    std::vector<int64_t> t(static_cast<size_t>(N));
    for (auto& v : t) v = d.range(0, C - 1);
    const Tensor x = random({N, C}, dt, d, -4, 4), target = labels(t);
    const double eps = d.coin() ? 0.0 : d.real(0, 0.3);
    const std::string shape = "[" + std::to_string(N) + ", " + std::to_string(C) + "]";
    check_op("cross_entropy eps " + std::to_string(eps) + " " + shape,
             [eps](const auto& in) { return ops::cross_entropy(in[0], in[1], eps); }, {x, target}, {true, false},
             d.seed());
    check_op("nll_loss " + shape, [](const auto& in) { return ops::nll_loss(ops::log_softmax(in[0], 1), in[1]); },
             {x, target}, {true, false}, d.seed());
  }
}

TEST_CASE("cuda sweep: linear and matmul", "[cuda][sweep]") {
  Draw d(105);
  for (int i = 0; i < 24; ++i) {
    const DType dt = dtype_of_case(i);
    const int64_t M = d.medium(), K = d.pick({1, 3, 16, 17, 63, 65, 129}), N = d.medium();
    const Tensor x = random({M, K}, dt, d), w = random({N, K}, dt, d), b = d.coin() ? random({N}, dt, d) : Tensor();
    const std::string what = "M " + std::to_string(M) + " K " + std::to_string(K) + " N " + std::to_string(N);
    check_op("linear " + what, [](const auto& in) { return ops::linear(in[0], in[1], in[2]); }, {x, w, b},
             {true, true, true}, d.seed());
    check_op("matmul " + what, [](const auto& in) { return ops::matmul(in[0], in[1]); },
             {x, random({K, N}, dt, d)}, {true, true}, d.seed());
  }
}

TEST_CASE("cuda sweep: conv2d", "[cuda][sweep]") {
  Draw d(106);
  for (int i = 0; i < 48; ++i) {
    const DType dt = dtype_of_case(i);
    const int64_t G = i % 6 == 0 ? d.pick({2, 3, 5}) : 1;
    const bool depthwise = i % 6 == 1;
    const int64_t Cg = depthwise ? 1 : d.pick({1, 2, 3, 5, 8, 17, 33}), C = (depthwise ? d.pick({3, 7, 16}) : G) * Cg;
    const int64_t groups = depthwise ? C : G;
    // Output channels per group across the tile variants (<= 16, <= 32, <= 64, > 64).
    const int64_t Kg = depthwise ? d.pick({1, 2}) : d.pick({1, 3, 16, 17, 31, 33, 64, 65, 129}), K = groups * Kg;
    const int64_t R = d.pick({1, 2, 3, 5}), S = d.coin() ? R : d.pick({1, 3}), sh = d.pick({1, 1, 2, 3}),
                  sw = d.coin() ? sh : d.pick({1, 2});
    const int64_t ph = d.range(0, R / 2 + 1), pw = d.range(0, S / 2 + 1);
    const int64_t H = std::max(d.small() + 2, R - 2 * ph), W = std::max(d.medium(), S - 2 * pw), N = d.pick({1, 2, 3});
    const Tensor x = random({N, C, H, W}, dt, d), w = random({K, Cg, R, S}, dt, d);
    const Tensor b = d.coin() ? random({K}, dt, d) : Tensor();
    const auto o = ops::Conv2dFuncOptions().stride({sh, sw}).padding({ph, pw}).groups(groups);
    const std::string what = "x " + str(x.shape()) + " w " + str(w.shape()) + " stride (" + std::to_string(sh) + ", " +
                             std::to_string(sw) + ") pad (" + std::to_string(ph) + ", " + std::to_string(pw) +
                             ") groups " + std::to_string(groups);
    check_op("conv2d " + what, [o](const auto& in) { return ops::conv2d(in[0], in[1], in[2], o); }, {x, w, b},
             {true, true, true}, d.seed());
  }
}

TEST_CASE("cuda sweep: pooling", "[cuda][sweep]") {
  Draw d(107);
  for (int i = 0; i < 40; ++i) {
    const DType dt = dtype_of_case(i);
    const int64_t kh = d.pick({1, 2, 3, 4, 5}), kw = d.coin() ? kh : d.pick({1, 2, 3});
    const int64_t sh = d.pick({1, 2, 3}), sw = d.pick({1, 2, 3}), ph = d.range(0, kh / 2), pw = d.range(0, kw / 2);
    const auto o = ops::Pool2dFuncOptions({kh, kw}).stride({sh, sw}).padding({ph, pw});
    const int64_t H = std::max(d.small(), kh), W = std::max(d.medium(), kw);
    const Shape s{d.pick({1, 2, 3}), d.pick({1, 3, 5, 16}), H, W};
    const Tensor x = random(s, dt, d);
    const std::string what = str(s) + " kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " stride (" +
                             std::to_string(sh) + ", " + std::to_string(sw) + ") pad (" + std::to_string(ph) + ", " +
                             std::to_string(pw) + ")";
    check_op("max_pool2d " + what, [o](const auto& in) { return ops::max_pool2d(in[0], o); }, {x}, {true}, d.seed());
    check_op("avg_pool2d " + what, [o](const auto& in) { return ops::avg_pool2d(in[0], o); }, {x}, {true}, d.seed());
    const int64_t oh = d.range(1, H + 2), ow = d.range(1, W + 2);
    check_op("adaptive_avg_pool2d " + str(s) + " -> " + std::to_string(oh) + "x" + std::to_string(ow),
             [oh, ow](const auto& in) { return ops::adaptive_avg_pool2d(in[0], {oh, ow}); }, {x}, {true}, d.seed());
  }
}

TEST_CASE("cuda sweep: batch_norm, group_norm, layer_norm", "[cuda][sweep]") {
  Draw d(108);
  for (int i = 0; i < 24; ++i) {
    const DType dt = dtype_of_case(i);
    const int64_t C = d.pick({1, 2, 3, 4, 6, 12, 16, 33, 64});
    std::vector<int64_t> dims = {d.pick({1, 2, 3, 5, 9}), C};
    if (i % 4 != 0) dims.push_back(d.small()), dims.push_back(d.medium());  // [N, C] or [N, C, H, W]
    const Shape s(dims);
    if (s[0] * (s.numel() / s[0] / C) < 2) continue;  // batch_norm training needs 2+ values per channel
    const Tensor x = random(s, dt, d, -2, 3);
    const bool affine = d.coin(), training = i % 3 != 0;
    const Tensor w = affine ? random({C}, dt, d, 0.5, 1.5) : Tensor(), b = affine ? random({C}, dt, d) : Tensor();
    const Tensor rm = random({C}, dt, d, -0.5, 0.5), rv = random({C}, dt, d, 0.5, 2);
    // The running statistics are updated in place: each device gets its own copy, compared after.
    Tensor rm_dev[2], rv_dev[2];
    int call = 0;
    check_op("batch_norm " + str(s) + (training ? " training" : " eval") + (affine ? " affine" : ""),
             [&](const auto& in) {
               const int k = call++;
               rm_dev[k] = rm.clone().to(in[0].device()), rv_dev[k] = rv.clone().to(in[0].device());
               return ops::batch_norm(in[0], rm_dev[k], rv_dev[k], in[1], in[2], training);
             },
             {x, w, b}, {true, true, true}, d.seed());
    check_parity(rm_dev[1].to(Device::cpu()), rm_dev[0], dt);
    check_parity(rv_dev[1].to(Device::cpu()), rv_dev[0], dt);
  }
  for (int i = 0; i < 24; ++i) {
    const DType dt = dtype_of_case(i);
    const int64_t G = d.pick({1, 2, 3, 4, 8}), C = G * d.pick({1, 2, 3, 5}), N = d.pick({1, 2, 3});
    const Shape s = d.coin() ? Shape{N, C, d.small(), d.medium()} : Shape{N, C, d.wide()};
    const bool affine = d.coin();
    const Tensor x = random(s, dt, d, -2, 3);
    const Tensor w = affine ? random({C}, dt, d, 0.5, 1.5) : Tensor(), b = affine ? random({C}, dt, d) : Tensor();
    check_op("group_norm " + str(s) + " groups " + std::to_string(G),
             [G](const auto& in) { return ops::group_norm(in[0], G, in[1], in[2]); }, {x, w, b}, {true, true, true},
             d.seed());
  }
  for (int i = 0; i < 24; ++i) {
    const DType dt = dtype_of_case(i);
    const Shape s = i % 2 ? Shape{d.medium(), d.wide()} : Shape{d.small(), d.small(), d.medium()};
    const int64_t k = d.range(1, s.ndim() - 1);
    const std::vector<int64_t> norm(s.begin() + (s.ndim() - k), s.end());
    const bool affine = d.coin();
    const Tensor x = random(s, dt, d, -2, 3);
    const Tensor w = affine ? random(Shape(norm), dt, d, 0.5, 1.5) : Tensor(),
                 b = affine ? random(Shape(norm), dt, d) : Tensor();
    check_op("layer_norm " + str(s) + " over " + str(Shape(norm)),
             [norm](const auto& in) { return ops::layer_norm(in[0], norm, in[1], in[2]); }, {x, w, b},
             {true, true, true}, d.seed());
  }
}

TEST_CASE("cuda sweep: dropout and dropout2d", "[cuda][sweep]") {
  Draw d(109);
  for (int i = 0; i < 16; ++i) {
    const DType dt = dtype_of_case(i);
    const Shape s{d.small(), d.medium(), d.small(), d.medium()};
    const double p = d.pick({0, 1, 3, 5, 9}) / 10.0;
    const uint64_t seed = d.seed();
    const Tensor x = random(s, dt, d);
    check_op("dropout p " + std::to_string(p) + " " + str(s),
             [p, seed](const auto& in) {
               Generator g(seed);
               return ops::dropout(in[0], p, true, &g);
             },
             {x}, {true}, d.seed());
    check_op("dropout2d p " + std::to_string(p) + " " + str(s),
             [p, seed](const auto& in) {
               Generator g(seed);
               return ops::dropout2d(in[0], p, true, &g);
             },
             {x}, {true}, d.seed());
  }
}

TEST_CASE("cuda sweep: optimizer updates", "[cuda][sweep]") {
  Draw d(110);
  for (int i = 0; i < 12; ++i) {
    const DType dt = dtype_of_case(i);
    const Shape s{d.wide(), d.small()};
    const Tensor p0 = random(s, dt, d);
    std::vector<Tensor> grads;
    for (int t = 0; t < 3; ++t) grads.push_back(random(s, dt, d));
    const double lr = d.real(0.001, 0.1), wd = d.coin() ? 0.0 : 0.01;
    const int kind = i % 3;  // SGD with Nesterov momentum, Adam, AdamW
    Tensor result[2];
    for (int dev = 0; dev < 2; ++dev) {
      const Device device = dev ? Device::cuda() : Device::cpu();
      Tensor p = (dev ? p0.to(device) : p0.clone()).requires_grad_();
      auto run = [&](auto opt) {
        for (const Tensor& g : grads) {
          p.set_grad(g.to(device));
          opt.step();
        }
      };
      if (kind == 0) run(optim::SGD({p}, optim::SGDOptions(lr).momentum(0.9).nesterov(true).weight_decay(wd)));
      else if (kind == 1) run(optim::Adam({p}, optim::AdamOptions(lr).weight_decay(wd)));
      else run(optim::AdamW({p}, optim::AdamOptions(lr).weight_decay(wd)));
      result[dev] = p.detach().to(Device::cpu());
    }
    INFO("optimizer " << kind << " " << s << " " << dtype_name(dt));
    check_parity(result[1], result[0], dt);
  }
}

TEST_CASE("cuda sweep: augment", "[cuda][sweep]") {
  Draw d(111);
  for (int i = 0; i < 8; ++i) {
    const int64_t n = d.pick({1, 2, 5, 37}), H = d.pick({8, 17, 32}), W = d.pick({8, 19, 32});
    std::vector<uint8_t> img(static_cast<size_t>(n * 3 * H * W));
    for (auto& v : img) v = static_cast<uint8_t>(d.range(0, 255));
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) idx[static_cast<size_t>(k)] = k;
    const AugmentOptions opt = AugmentOptions().pad(d.range(0, 4)).cutout_size(d.pick({1, 4, 7}));
    const auto params = draw_augment_params(opt, H, W, d.seed(), i, idx);
    const DType dt = dtype_of_case(i);
    const Tensor c = ops::augment(img.data(), {n, 3, H, W}, params, opt, dt);
    const Tensor g = ops::augment(img.data(), {n, 3, H, W}, params, opt, TensorOptions(dt).device(Device::cuda()));
    INFO("augment [" << n << ", 3, " << H << ", " << W << "]");
    check_parity(g.to(Device::cpu()), c, dt);
  }
}

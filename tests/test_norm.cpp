// batch_norm, group_norm, layer_norm: forward values by hand, running statistics, gradchecks,
// errors, CPU/CUDA parity (forward, saved statistics, running statistics, every gradient) and
// the cuDNN batch_norm engine against the reference.
#include <catch2/catch.hpp>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// x [2, 2, 2] = x[n, c, s] with channel 0 = {1, 3 | 1, 3} and channel 1 = {2, 2 | 6, 6}:
//   channel 0: mean 2, biased var ((1-2)^2 + (3-2)^2 + (1-2)^2 + (3-2)^2) / 4 = 1, invstd 1
//   channel 1: mean 4, biased var (4 + 4 + 4 + 4) / 4 = 4, invstd 1/2
const std::vector<double> kX = {1, 3, 2, 2, 1, 3, 6, 6};

// Random float64 values in [low, high) that do not require grad (running statistics).
Tensor rand_const(const Shape& s, uint64_t seed, double low, double high) {
  Generator g(seed);
  return rand(s, DType::Float64, &g, low, high);
}

// A float64 leaf on the GPU (rand_leaf makes CPU leaves).
Tensor cuda_leaf(const Shape& s, uint64_t seed) {
  Tensor t = rand_leaf(s, seed).detach().to(Device::cuda());
  t.requires_grad_();
  return t;
}

// An independent copy of t on `device` (to() returns t itself when it is already there, and the
// runs below must neither share gradients nor running statistics); undefined stays undefined.
Tensor fresh(const Tensor& t, Device device, bool requires_grad = false) {
  if (!t.defined()) return Tensor();
  Tensor c = t.clone().to(device);
  if (requires_grad) c.requires_grad_();
  return c;
}

// Loss with a non-uniform gradient: sum(y * r) for a fixed random r (sum(y) alone has a zero
// gradient through a normalization, which would make the gradient comparisons vacuous).
Tensor projected(const Tensor& y, uint64_t seed) {
  Generator g(seed);
  const Tensor r = rand(y.shape(), TensorOptions().dtype(y.dtype()), &g, -1, 1).to(y.device());
  return ops::sum(ops::mul(y, r));
}

// Everything a parity test compares: forward output, saved statistics, running statistics and gradients.
struct NormResult {
  Tensor y, mean, invstd, running_mean, running_var, dx, dgamma, dbeta;
};

void check_results_close(const NormResult& a, const NormResult& b, double rtol, double atol) {
  CHECK_CLOSE(a.y.to(Device::cpu()), b.y.to(Device::cpu()), rtol, atol);
  CHECK_CLOSE(a.mean.to(Device::cpu()), b.mean.to(Device::cpu()), rtol, atol);
  CHECK_CLOSE(a.invstd.to(Device::cpu()), b.invstd.to(Device::cpu()), rtol, atol);
  if (a.running_mean.defined()) {
    CHECK_CLOSE(a.running_mean.to(Device::cpu()), b.running_mean.to(Device::cpu()), rtol, atol);
    CHECK_CLOSE(a.running_var.to(Device::cpu()), b.running_var.to(Device::cpu()), rtol, atol);
  }
  CHECK_CLOSE(a.dx.to(Device::cpu()), b.dx.to(Device::cpu()), rtol, atol);
  if (a.dgamma.defined()) CHECK_CLOSE(a.dgamma.to(Device::cpu()), b.dgamma.to(Device::cpu()), rtol, atol);
  if (a.dbeta.defined()) CHECK_CLOSE(a.dbeta.to(Device::cpu()), b.dbeta.to(Device::cpu()), rtol, atol);
}

// batch_norm on `device` (float32): the public op for y and the gradients, the raw kernel for
// the saved statistics (the op keeps them inside BatchNormBackward).
NormResult run_batch_norm(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Tensor& rm0, const Tensor& rv0,
                          bool training, Device device) {
  Tensor x = fresh(x0, device, true), w = fresh(w0, device, true), b = fresh(b0, device, true);
  NormResult r;
  r.running_mean = fresh(rm0, device), r.running_var = fresh(rv0, device);
  r.y = ops::batch_norm(x, r.running_mean, r.running_var, w, b, training, 0.1, 1e-5);
  projected(r.y, 7).backward();
  r.dx = x.grad(), r.dgamma = w.defined() ? w.grad() : Tensor(), r.dbeta = b.defined() ? b.grad() : Tensor();
  // Saved statistics: the same computation through the raw kernel (ref on the CPU, cuda on CUDA),
  // on copies of the running stats.
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  r.mean = empty({C}, x.options()), r.invstd = empty({C}, x.options());
  Tensor y = empty_like(x), rm = fresh(rm0, device), rv = fresh(rv0, device);
  const float* wp = w.defined() ? w.data<float>() : nullptr;
  const float* bp = b.defined() ? b.data<float>() : nullptr;
  if (training)
    MINIDL_KERNEL(device, batch_norm_fwd_train<float>)(x.data<float>(), wp, bp, y.data<float>(), r.mean.data<float>(),
                                                       r.invstd.data<float>(), rm.data<float>(), rv.data<float>(), N,
                                                       C, S, 0.1, 1e-5);
  else
    MINIDL_KERNEL(device, batch_norm_fwd_eval<float>)(x.data<float>(), wp, bp, rm.data<float>(), rv.data<float>(),
                                                      y.data<float>(), r.mean.data<float>(), r.invstd.data<float>(), N,
                                                      C, S, 1e-5);
  // The raw kernel is what the op ran; with cuDNN or the tuned CPU engine active the op ran that
  // engine: equal to float32 rounding.
  const Engine engine = batch_norm_engine().active(device);
  const double tol = engine == Engine::Cudnn ? 1e-4 : engine == Engine::Cpu ? 1e-5 : 1e-6;
  CHECK_CLOSE(y.to(Device::cpu()), r.y.to(Device::cpu()), tol, tol);
  return r;
}

NormResult run_group_norm(const Tensor& x0, int64_t G, const Tensor& w0, const Tensor& b0, Device device) {
  Tensor x = fresh(x0, device, true), w = fresh(w0, device, true), b = fresh(b0, device, true);
  NormResult r;
  r.y = ops::group_norm(x, G, w, b, 1e-5);
  projected(r.y, 8).backward();
  r.dx = x.grad(), r.dgamma = w.grad(), r.dbeta = b.grad();
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  r.mean = empty({N, G}, x.options()), r.invstd = empty({N, G}, x.options());
  Tensor y = empty_like(x);
  MINIDL_KERNEL(device, group_norm_fwd<float>)(x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>(),
                                               r.mean.data<float>(), r.invstd.data<float>(), N, C, S, G, 1e-5);
  return r;
}

NormResult run_layer_norm(const Tensor& x0, const std::vector<int64_t>& shape, const Tensor& w0, const Tensor& b0,
                          Device device) {
  Tensor x = fresh(x0, device, true), w = fresh(w0, device, true), b = fresh(b0, device, true);
  NormResult r;
  r.y = ops::layer_norm(x, shape, w, b, 1e-5);
  projected(r.y, 9).backward();
  r.dx = x.grad(), r.dgamma = w.grad(), r.dbeta = b.grad();
  const int64_t D = w.numel(), M = x.numel() / D;
  r.mean = empty({M}, x.options()), r.invstd = empty({M}, x.options());
  Tensor y = empty_like(x);
  MINIDL_KERNEL(device, layer_norm_fwd<float>)(x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>(),
                                               r.mean.data<float>(), r.invstd.data<float>(), M, D, 1e-5);
  return r;
}

// Float32 inputs with a non-zero mean and a scale far from 1, so a missing "- mean" or a wrong
// invstd shows up.
Tensor shifted_rand(const Shape& s, uint64_t seed, double low = -2.0, double high = 5.0) {
  Generator g(seed);
  return rand(s, DType::Float32, &g, low, high);
}

}  // namespace

TEST_CASE("batch_norm forward values", "[norm]") {
  const Tensor x = f64(kX, {2, 2, 2});
  // Training, gamma = [2, 3], beta = [1, -1], eps = 0:
  //   channel 0: xhat = (x - 2) / 1 = {-1, 1 | -1, 1}   -> y = 2 xhat + 1 = {-1, 3 | -1, 3}
  //   channel 1: xhat = (x - 4) / 2 = {-1, -1 | 1, 1}   -> y = 3 xhat - 1 = {-4, -4 | 2, 2}
  const Tensor y = ops::batch_norm(x, Tensor(), Tensor(), f64({2, 3}, {2}), f64({1, -1}, {2}), true, 0.1, 0.0);
  CHECK(values(y) == std::vector<double>{-1, 3, -4, -4, -1, 3, 2, 2});
  // Without affine: y = xhat.
  CHECK(values(ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 0.0)) ==
        std::vector<double>{-1, 1, -1, -1, -1, 1, 1, 1});
  // Eval with running_mean = [1, 2], running_var = [4, 1], eps = 0, no affine:
  //   channel 0: (x - 1) / 2 = {0, 1 | 0, 1};  channel 1: (x - 2) / 1 = {0, 0 | 4, 4}
  const Tensor ye = ops::batch_norm(x, f64({1, 2}, {2}), f64({4, 1}, {2}), Tensor(), Tensor(), false, 0.1, 0.0);
  CHECK(values(ye) == std::vector<double>{0, 1, 0, 0, 0, 1, 4, 4});
  // Default eps = 1e-5: channel 0 of a [4, 1] input {0, 0, 2, 2}: mean 1, var 1 -> y = +-1 / sqrt(1 + 1e-5).
  const auto v = values(ops::batch_norm(f64({0, 0, 2, 2}, {4, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true));
  CHECK(v[0] == Approx(-1.0 / std::sqrt(1.0 + 1e-5)).epsilon(1e-12));
  CHECK(v[3] == Approx(1.0 / std::sqrt(1.0 + 1e-5)).epsilon(1e-12));
  // float32 gives the same values, and a large common offset does not ruin the variance
  // (E[x^2] - E[x]^2 in float would: 1e4^2 swamps a variance of 1).
  const Tensor xf = (f64(kX, {2, 2, 2}) + 1e4).to(DType::Float32);
  CHECK_CLOSE(ops::batch_norm(xf, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 0.0),
              f64({-1, 1, -1, -1, -1, 1, 1, 1}, {2, 2, 2}), 1e-5, 1e-5);
}

TEST_CASE("batch_norm gradcheck", "[norm][gradcheck]") {
  const Tensor rm = rand_const({6}, 11, -0.5, 0.5), rv = rand_const({6}, 12, 0.5, 1.5);
  for (bool training : {true, false}) {
    INFO("training " << training);
    // Affine, 4-D input; the running statistics are updated (training) but do not affect y.
    CHECK_GRADCHECK(gradcheck(
        [&](const auto& in) {
          return ops::batch_norm(in[0], rm.clone(), rv.clone(), in[1], in[2], training, 0.1, 1e-5);
        },
        {rand_leaf({3, 6, 5, 7}, 1), rand_leaf({6}, 2, 0.5, 1.5), rand_leaf({6}, 3)}));
    // No affine.
    CHECK_GRADCHECK(gradcheck(
        [&](const auto& in) { return ops::batch_norm(in[0], rm.clone(), rv.clone(), Tensor(), Tensor(), training); },
        {rand_leaf({3, 6, 5, 7}, 4)}));
    // 2-D [N, C] input (BatchNorm1d after a linear layer), affine.
    const Tensor rm4 = rand_const({4}, 13, -0.5, 0.5), rv4 = rand_const({4}, 14, 0.5, 1.5);
    CHECK_GRADCHECK(gradcheck(
        [&](const auto& in) { return ops::batch_norm(in[0], rm4.clone(), rv4.clone(), in[1], in[2], training); },
        {rand_leaf({5, 4}, 5), rand_leaf({4}, 6, 0.5, 1.5), rand_leaf({4}, 7)}));
  }
  // Training without running statistics; only gamma requires grad (x and beta are constants).
  CHECK_GRADCHECK(gradcheck(
      [&](const auto& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), in[1], Tensor(), true); },
      {rand_const({3, 6, 5, 7}, 8, -1, 1), rand_leaf({6}, 9)}));
}

TEST_CASE("batch_norm running statistics", "[norm]") {
  const Tensor x = f64(kX, {2, 2, 2});
  Tensor rm = f64({0, 1}, {2}), rv = f64({1, 2}, {2});
  ops::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5);
  // m = 4 values per channel; the running variance gets the unbiased variance var * m / (m - 1):
  //   channel 0: mean 2, var 1 -> unbiased 4/3;  channel 1: mean 4, var 4 -> unbiased 16/3
  //   running_mean = 0.9 * [0, 1] + 0.1 * [2, 4]      = [0.2, 1.3]
  //   running_var  = 0.9 * [1, 2] + 0.1 * [4/3, 16/3] = [0.9 + 0.4/3, 1.8 + 1.6/3]
  const auto m = values(rm), v = values(rv);
  CHECK(m[0] == Approx(0.2).epsilon(1e-12));
  CHECK(m[1] == Approx(1.3).epsilon(1e-12));
  CHECK(v[0] == Approx(0.9 + 0.4 / 3).epsilon(1e-12));
  CHECK(v[1] == Approx(1.8 + 1.6 / 3).epsilon(1e-12));
  // A second step with momentum 0.5 starts from the updated buffers:
  //   running_mean = 0.5 * [0.2, 1.3] + 0.5 * [2, 4] = [1.1, 2.65]
  ops::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.5, 1e-5);
  CHECK(values(rm)[0] == Approx(1.1).epsilon(1e-12));
  CHECK(values(rm)[1] == Approx(2.65).epsilon(1e-12));
  CHECK(values(rv)[0] == Approx(0.5 * (0.9 + 0.4 / 3) + 0.5 * 4.0 / 3).epsilon(1e-12));
  // Eval mode reads them and leaves them alone.
  const auto before_m = values(rm), before_v = values(rv);
  ops::batch_norm(x, rm, rv, Tensor(), Tensor(), false);
  CHECK(values(rm) == before_m);
  CHECK(values(rv) == before_v);
  // float32 buffers get the same update.
  Tensor rmf = f64({0, 1}, {2}).to(DType::Float32), rvf = f64({1, 2}, {2}).to(DType::Float32);
  ops::batch_norm(x.to(DType::Float32), rmf, rvf, Tensor(), Tensor(), true, 0.1, 1e-5);
  CHECK(values(rmf)[1] == Approx(1.3).epsilon(1e-6));
  CHECK(values(rvf)[1] == Approx(1.8 + 1.6 / 3).epsilon(1e-6));
}

TEST_CASE("batch_norm train and eval differ", "[norm]") {
  Generator g(21);
  const Tensor x = rand({4, 3, 5}, DType::Float64, &g, 1.0, 4.0);  // mean ~2.5, far from the fresh buffers
  Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
  const Tensor y_train = ops::batch_norm(x, rm, rv, Tensor(), Tensor(), true);
  // Training normalizes with the batch statistics: each channel of y has mean 0.
  const auto mean_c = values(ops::mean(ops::mean(y_train, 2), 0));
  for (double m : mean_c) CHECK(std::abs(m) < 1e-12);
  // Eval with fresh buffers (mean 0, var 1) is almost the identity, so it differs from training.
  const Tensor y_eval0 = ops::batch_norm(x, zeros({3}, DType::Float64), ones({3}, DType::Float64), Tensor(), Tensor(),
                                         false);
  CHECK_CLOSE(y_eval0, x * (1.0 / std::sqrt(1.0 + 1e-5)), 1e-12, 1e-12);
  CHECK(close_ratio(y_eval0, y_train, 1e-3, 1e-3) > 1.0);
  // Eval does not depend on the rest of the batch; training does.
  const Tensor x0 = x.slice_rows(0, 1).clone();
  CHECK_CLOSE(ops::batch_norm(x0, rm, rv, Tensor(), Tensor(), false),
              ops::batch_norm(x, rm, rv, Tensor(), Tensor(), false).slice_rows(0, 1), 1e-12, 1e-12);
  Tensor rm2 = zeros({3}, DType::Float64), rv2 = ones({3}, DType::Float64);
  CHECK(close_ratio(ops::batch_norm(x0, rm2, rv2, Tensor(), Tensor(), true), y_train.slice_rows(0, 1), 1e-3, 1e-3) >
        1.0);
  // After many training steps on the same batch the buffers converge to the batch statistics
  // (the variance to the unbiased one), and eval gets close to training.
  for (int i = 0; i < 200; ++i) ops::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1);
  const Tensor y_eval = ops::batch_norm(x, rm, rv, Tensor(), Tensor(), false);
  // m = 4 * 5 = 20 values per channel: eval divides by sqrt(var * 20/19), training by sqrt(var).
  CHECK_CLOSE(y_eval, y_train * std::sqrt(19.0 / 20.0), 1e-4, 1e-4);
}

// Helpers of the engine checks below: count values uniform in [lo, hi) as T, and a check that a
// (the tuned engine's output) matches b (the reference's) to tol, relative to 1 + |b|.
template <class T>
std::vector<T> uniform_values(Generator& g, int64_t count, double lo, double hi) {
  const Tensor t = rand({count}, DType::Float64, &g, lo, hi);
  std::vector<T> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[i] = static_cast<T>(t.data<double>()[i]);
  return v;
}
template <class T>
void check_same(const char* what, const std::vector<T>& a, const std::vector<T>& b, double tol) {
  INFO(what);
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - double(b[i])) / (1.0 + std::abs(double(b[i]))));
  CHECK(worst <= tol);
}

// The tuned CPU engine (kernels/cpu/norm.cpp) against the reference, raw kernels, every output:
// float32 to its rounding (one pass for both moments, plane sums in float there), float64 to its
// (the same code in double; the front-end runs the reference for float64 anyway).
template <class T>
void check_cpu_batch_norm_engine(const Shape& shape, bool affine, double tol) {
  const int64_t N = shape[0], C = shape[1], S = shape.numel() / (N * C), n = shape.numel();
  Generator g(41);
  auto vals = [&](int64_t count, double lo, double hi) { return uniform_values<T>(g, count, lo, hi); };
  const std::vector<T> x = vals(n, -2.0, 5.0), dy = vals(n, -1.0, 1.0), gamma = vals(C, 0.5, 2.0),
                       beta = vals(C, -1.0, 1.0), rm0 = vals(C, -1.0, 1.0), rv0 = vals(C, 0.5, 2.0);
  const T* gp = affine ? gamma.data() : nullptr;
  const T* bp = affine ? beta.data() : nullptr;
  struct Out {
    std::vector<T> y, mean, invstd, rm, rv, dx, dgamma, dbeta, y_eval, dx_eval;
  };
  auto run = [&](auto fwd_train, auto fwd_eval, auto bwd) {
    Out o{std::vector<T>(n), std::vector<T>(C), std::vector<T>(C), rm0, rv0, std::vector<T>(n), std::vector<T>(C),
          std::vector<T>(C), std::vector<T>(n), std::vector<T>(n)};
    fwd_train(x.data(), gp, bp, o.y.data(), o.mean.data(), o.invstd.data(), o.rm.data(), o.rv.data(), N, C, S, 0.1,
              1e-5);
    bwd(dy.data(), x.data(), gp, o.mean.data(), o.invstd.data(), o.dx.data(), o.dgamma.data(), o.dbeta.data(), N, C,
        S, true);
    std::vector<T> m(C), is(C);
    fwd_eval(x.data(), gp, bp, rm0.data(), rv0.data(), o.y_eval.data(), m.data(), is.data(), N, C, S, 1e-5);
    bwd(dy.data(), x.data(), gp, m.data(), is.data(), o.dx_eval.data(), nullptr, nullptr, N, C, S, false);
    return o;
  };
  const Out r = run(ref::batch_norm_fwd_train<T>, ref::batch_norm_fwd_eval<T>, ref::batch_norm_bwd<T>);
  const Out c = run(cpu::batch_norm_fwd_train<T>, cpu::batch_norm_fwd_eval<T>, cpu::batch_norm_bwd<T>);
  auto same = [&](const char* what, const std::vector<T>& a, const std::vector<T>& b) { check_same(what, a, b, tol); };
  same("y", c.y, r.y), same("mean", c.mean, r.mean), same("invstd", c.invstd, r.invstd);
  same("running_mean", c.rm, r.rm), same("running_var", c.rv, r.rv), same("dx", c.dx, r.dx);
  same("dgamma", c.dgamma, r.dgamma), same("dbeta", c.dbeta, r.dbeta);
  same("eval y", c.y_eval, r.y_eval), same("eval dx", c.dx_eval, r.dx_eval);
}

TEST_CASE("batch_norm cpu engine matches the reference", "[norm][engine]") {
  // [N, C] (S = 1), S below and not a multiple of the vector width, a 32x32 map, one image.
  for (const Shape& s : {Shape{5, 3}, Shape{4, 3, 7, 5}, Shape{16, 8, 32, 32}, Shape{1, 2, 1, 33}}) {
    for (bool affine : {true, false}) {
      INFO(s << (affine ? " affine" : " no affine"));
      check_cpu_batch_norm_engine<float>(s, affine, 2e-5);
      check_cpu_batch_norm_engine<double>(s, affine, 1e-12);
    }
  }
}

// The same for group_norm (and so the zoo's layer norm, GroupNorm(1, C)).
template <class T>
void check_cpu_group_norm_engine(const Shape& shape, int64_t G, bool affine, double tol) {
  const int64_t N = shape[0], C = shape[1], S = shape.numel() / (N * C), n = shape.numel();
  Generator g(43);
  auto vals = [&](int64_t count, double lo, double hi) { return uniform_values<T>(g, count, lo, hi); };
  const std::vector<T> x = vals(n, -2.0, 5.0), dy = vals(n, -1.0, 1.0), gamma = vals(C, 0.5, 2.0),
                       beta = vals(C, -1.0, 1.0);
  const T* gp = affine ? gamma.data() : nullptr;
  const T* bp = affine ? beta.data() : nullptr;
  struct Out {
    std::vector<T> y, mean, invstd, dx, dgamma, dbeta;
  };
  auto run = [&](auto fwd, auto bwd) {
    Out o{std::vector<T>(n), std::vector<T>(N * G), std::vector<T>(N * G), std::vector<T>(n), std::vector<T>(C),
          std::vector<T>(C)};
    fwd(x.data(), gp, bp, o.y.data(), o.mean.data(), o.invstd.data(), N, C, S, G, 1e-5);
    bwd(dy.data(), x.data(), gp, o.mean.data(), o.invstd.data(), o.dx.data(), o.dgamma.data(), o.dbeta.data(), N, C,
        S, G);
    return o;
  };
  const Out r = run(ref::group_norm_fwd<T>, ref::group_norm_bwd<T>);
  const Out c = run(cpu::group_norm_fwd<T>, cpu::group_norm_bwd<T>);
  auto same = [&](const char* what, const std::vector<T>& a, const std::vector<T>& b) { check_same(what, a, b, tol); };
  same("y", c.y, r.y), same("mean", c.mean, r.mean), same("invstd", c.invstd, r.invstd), same("dx", c.dx, r.dx);
  same("dgamma", c.dgamma, r.dgamma), same("dbeta", c.dbeta, r.dbeta);
}

TEST_CASE("group_norm cpu engine matches the reference", "[norm][engine]") {
  struct Case {
    Shape shape;
    int64_t groups;
  };
  // One group (layer norm), one channel per group, S = 1, odd S, a 32x32 map.
  for (const Case& k : {Case{{4, 6, 5, 7}, 1}, Case{{3, 4, 9}, 4}, Case{{5, 6}, 3}, Case{{2, 8, 32, 32}, 2},
                        Case{{3, 12, 3, 11}, 4}}) {
    for (bool affine : {true, false}) {
      INFO(k.shape << " groups " << k.groups << (affine ? " affine" : " no affine"));
      check_cpu_group_norm_engine<float>(k.shape, k.groups, affine, 2e-5);
      check_cpu_group_norm_engine<double>(k.shape, k.groups, affine, 1e-12);
    }
  }
}

// The same for layer_norm. The tuned backward adds dgamma / dbeta into per-thread partial rows
// during its first pass: rows not divisible by the thread count, rows longer than one float block
// (1024), and each gradient requested alone cover its paths.
template <class T>
void check_cpu_layer_norm_engine(int64_t M, int64_t D, bool affine, double tol) {
  Generator g(44);
  auto vals = [&](int64_t count, double lo, double hi) { return uniform_values<T>(g, count, lo, hi); };
  const std::vector<T> x = vals(M * D, -2.0, 5.0), dy = vals(M * D, -1.0, 1.0), gamma = vals(D, 0.5, 2.0),
                       beta = vals(D, -1.0, 1.0);
  const T* gp = affine ? gamma.data() : nullptr;
  const T* bp = affine ? beta.data() : nullptr;
  struct Out {
    std::vector<T> y, mean, invstd, dx, dgamma, dbeta, dx_alone, dgamma_alone, dbeta_alone;
  };
  auto run = [&](auto fwd, auto bwd) {
    const auto n = static_cast<size_t>(M * D), m = static_cast<size_t>(M), d = static_cast<size_t>(D);
    Out o{std::vector<T>(n), std::vector<T>(m), std::vector<T>(m), std::vector<T>(n), std::vector<T>(d),
          std::vector<T>(d), std::vector<T>(n), std::vector<T>(d), std::vector<T>(d)};
    fwd(x.data(), gp, bp, o.y.data(), o.mean.data(), o.invstd.data(), M, D, 1e-5);
    bwd(dy.data(), x.data(), gp, o.mean.data(), o.invstd.data(), o.dx.data(), o.dgamma.data(), o.dbeta.data(), M, D);
    bwd(dy.data(), x.data(), gp, o.mean.data(), o.invstd.data(), o.dx_alone.data(), nullptr, nullptr, M, D);
    bwd(dy.data(), x.data(), gp, o.mean.data(), o.invstd.data(), nullptr, o.dgamma_alone.data(), nullptr, M, D);
    bwd(dy.data(), x.data(), gp, o.mean.data(), o.invstd.data(), nullptr, nullptr, o.dbeta_alone.data(), M, D);
    return o;
  };
  const Out r = run(ref::layer_norm_fwd<T>, ref::layer_norm_bwd<T>);
  const Out c = run(cpu::layer_norm_fwd<T>, cpu::layer_norm_bwd<T>);
  auto same = [&](const char* what, const std::vector<T>& a, const std::vector<T>& b) { check_same(what, a, b, tol); };
  same("y", c.y, r.y), same("mean", c.mean, r.mean), same("invstd", c.invstd, r.invstd), same("dx", c.dx, r.dx);
  same("dgamma", c.dgamma, r.dgamma), same("dbeta", c.dbeta, r.dbeta), same("dx alone", c.dx_alone, r.dx);
  same("dgamma alone", c.dgamma_alone, r.dgamma), same("dbeta alone", c.dbeta_alone, r.dbeta);
}

TEST_CASE("layer_norm cpu engine matches the reference", "[norm][engine]") {
  // One row, one column, rows below and above the 2^15-element threading threshold with a row
  // count no thread count divides, rows of several float blocks (1024) with a short last block.
  for (auto [M, D] : {std::pair<int64_t, int64_t>{1, 5}, {7, 1}, {5, 37}, {33, 1200}, {6, 2500}}) {
    for (bool affine : {true, false}) {
      INFO("[" << M << ", " << D << "]" << (affine ? " affine" : " no affine"));
      check_cpu_layer_norm_engine<float>(M, D, affine, 2e-5);
      check_cpu_layer_norm_engine<double>(M, D, affine, 1e-12);
    }
  }
}

TEST_CASE("group_norm forward values", "[norm]") {
  // x [1, 4, 2], G = 2: group 0 = channels 0, 1 = {1, 3, 1, 3}: mean 2, var 1 -> xhat {-1, 1, -1, 1}
  //                     group 1 = channels 2, 3 = {2, 2, 6, 6}: mean 4, var 4 -> xhat {-1, -1, 1, 1}
  // gamma [1, 2, 3, 4], beta [0, 0, 1, 1]: y = {-1, 1, -2, 2, -3+1, -3+1, 4+1, 4+1}
  const Tensor x = f64({1, 3, 1, 3, 2, 2, 6, 6}, {1, 4, 2});
  CHECK(values(ops::group_norm(x, 2, f64({1, 2, 3, 4}, {4}), f64({0, 0, 1, 1}, {4}), 0.0)) ==
        std::vector<double>{-1, 1, -2, 2, -2, -2, 5, 5});
  // G = 1 (one set per sample): {1, 3, 1, 3, 2, 2, 6, 6}: mean 3, var (4+0+4+0+1+1+9+9)/8 = 3.5
  const auto v = values(ops::group_norm(x, 1, Tensor(), Tensor(), 0.0));
  CHECK(v[0] == Approx(-2 / std::sqrt(3.5)).epsilon(1e-12));
  CHECK(v[7] == Approx(3 / std::sqrt(3.5)).epsilon(1e-12));
  // G = C (one set per (n, c), "instance norm"), eps = 1e-5: channels {1, 3} -> +-1 / sqrt(1 + eps);
  // the constant channels {2, 2} and {6, 6} -> 0 (eps keeps 0 / 0 away).
  const auto vi = values(ops::group_norm(x, 4, Tensor(), Tensor(), 1e-5));
  const double a = 1.0 / std::sqrt(1.0 + 1e-5);
  const std::vector<double> expected = {-a, a, -a, a, 0, 0, 0, 0};
  for (size_t i = 0; i < 8; ++i) CHECK(vi[i] == Approx(expected[i]).epsilon(1e-12).margin(1e-12));
  // Samples are normalized independently: sample 1 = 10 * sample 0 + 5 gives the same xhat.
  const Tensor x2 = f64({1, 3, 1, 3, 2, 2, 6, 6, 15, 35, 15, 35, 25, 25, 65, 65}, {2, 4, 2});
  const auto v2 = values(ops::group_norm(x2, 2, Tensor(), Tensor(), 0.0));
  for (size_t i = 0; i < 8; ++i) CHECK(v2[i] == Approx(v2[i + 8]).epsilon(1e-12));
}

TEST_CASE("group_norm gradcheck", "[norm][gradcheck]") {
  for (int64_t groups : {1, 2, 3}) {
    INFO("groups " << groups);
    CHECK_GRADCHECK(gradcheck([&](const auto& in) { return ops::group_norm(in[0], groups, in[1], in[2]); },
                              {rand_leaf({2, 6, 5, 3}, 1), rand_leaf({6}, 2, 0.5, 1.5), rand_leaf({6}, 3)}));
    CHECK_GRADCHECK(gradcheck([&](const auto& in) { return ops::group_norm(in[0], groups); },
                              {rand_leaf({3, 6, 7}, 4)}));
  }
}

TEST_CASE("layer_norm forward values", "[norm]") {
  // Rows {1, 3, 1, 3} (mean 2, var 1) and {2, 2, 6, 6} (mean 4, var 4) -> xhat {-1, 1, -1, 1}, {-1, -1, 1, 1}
  // gamma [1, 2, 3, 4], beta [0, 1, 0, 1]: row 0 = {-1, 2+1, -3, 4+1}, row 1 = {-1, -2+1, 3, 4+1}
  const Tensor x = f64({1, 3, 1, 3, 2, 2, 6, 6}, {2, 4});
  CHECK(values(ops::layer_norm(x, {4}, f64({1, 2, 3, 4}, {4}), f64({0, 1, 0, 1}, {4}), 0.0)) ==
        std::vector<double>{-1, 3, -3, 5, -1, -1, 3, 5});
  // Two trailing dims: x [2, 2, 2] over normalized_shape [2, 2] is the same two rows.
  CHECK(values(ops::layer_norm(x.view({2, 2, 2}), {2, 2}, f64({1, 2, 3, 4}, {2, 2}), f64({0, 1, 0, 1}, {2, 2}),
                               0.0)) == std::vector<double>{-1, 3, -3, 5, -1, -1, 3, 5});
  // Over all dims [2, 4]: one set of 8 values, mean 3, var 3.5.
  const auto v = values(ops::layer_norm(x, {2, 4}, Tensor(), Tensor(), 0.0));
  CHECK(v[1] == Approx(0.0).margin(1e-12));
  CHECK(v[6] == Approx(3 / std::sqrt(3.5)).epsilon(1e-12));
}

TEST_CASE("layer_norm gradcheck", "[norm][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::layer_norm(in[0], {7}, in[1], in[2]); },
                            {rand_leaf({3, 5, 7}, 1), rand_leaf({7}, 2, 0.5, 1.5), rand_leaf({7}, 3)}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::layer_norm(in[0], {3, 5, 4}, in[1], in[2]); },
                            {rand_leaf({2, 3, 5, 4}, 4), rand_leaf({3, 5, 4}, 5, 0.5, 1.5), rand_leaf({3, 5, 4}, 6)}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::layer_norm(in[0], {5}); }, {rand_leaf({4, 5}, 7)}));
}

TEST_CASE("norm errors", "[norm][errors]") {
  // Groups that do not divide C: the message names both numbers.
  CHECK_THROWS_WITH(ops::group_norm(zeros({2, 6, 4}), 4),
                    Catch::Contains("num_groups 4") && Catch::Contains("channels 6") && Catch::Contains("[2, 6, 4]"));
  CHECK_THROWS_WITH(ops::group_norm(zeros({2, 6, 4}), 0), Catch::Contains("num_groups 0"));
  // Weight / bias of the wrong shape.
  CHECK_THROWS_WITH(ops::batch_norm(zeros({2, 3, 4}), Tensor(), Tensor(), zeros({4}), Tensor(), true),
                    Catch::Contains("weight") && Catch::Contains("[4]") && Catch::Contains("[3]") &&
                        Catch::Contains("[2, 3, 4]"));
  CHECK_THROWS_WITH(ops::batch_norm(zeros({2, 3, 4}), zeros({2}), zeros({3}), Tensor(), Tensor(), true),
                    Catch::Contains("running_mean") && Catch::Contains("[2]"));
  CHECK_THROWS_WITH(ops::group_norm(zeros({2, 6, 4}), 3, ones({6}), zeros({3})),
                    Catch::Contains("bias") && Catch::Contains("[3]") && Catch::Contains("[6]"));
  CHECK_THROWS_WITH(ops::layer_norm(zeros({2, 3, 4}), {3, 4}, ones({4})),
                    Catch::Contains("weight") && Catch::Contains("[4]") && Catch::Contains("[3, 4]"));
  CHECK_THROWS_WITH(ops::layer_norm(zeros({2, 3, 4}), {3}),
                    Catch::Contains("[2, 3, 4]") && Catch::Contains("does not end with") && Catch::Contains("[3]"));
  // Eval mode needs the running statistics; they come in pairs.
  CHECK_THROWS_WITH(ops::batch_norm(zeros({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false),
                    Catch::Contains("eval") && Catch::Contains("running_mean"));
  CHECK_THROWS_WITH(ops::batch_norm(zeros({2, 3}), zeros({3}), Tensor(), Tensor(), Tensor(), true),
                    Catch::Contains("together"));
  // One value per channel cannot be normalized in training (the variance is 0/0 unbiased).
  CHECK_THROWS_WITH(ops::batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                    Catch::Contains("more than 1 value per channel") && Catch::Contains("[1, 3]"));
  CHECK_THROWS_WITH(ops::batch_norm(zeros({1, 3, 1, 1}), zeros({3}), ones({3}), Tensor(), Tensor(), true),
                    Catch::Contains("[1, 3, 1, 1]"));
  CHECK_NOTHROW(ops::batch_norm(zeros({1, 3}), zeros({3}), ones({3}), Tensor(), Tensor(), false));  // fine in eval
  // Rank, dtype.
  CHECK_THROWS_WITH(ops::batch_norm(zeros({3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                    Catch::Contains("2-D") && Catch::Contains("[3]"));
  CHECK_THROWS_WITH(ops::group_norm(zeros({2, 4}), 2, ones({4}, DType::Float64)), Catch::Contains("float64"));
}

// ---- CUDA ---------------------------------------------------------------------------------------

TEST_CASE("batch_norm cuda parity", "[cuda][norm]") {
  // Sizes that are not multiples of the block size; the second shape has 9 * 37 * 41 = 13653
  // values per channel, so the CUDA statistics are split over several blocks per channel; the
  // third is a 2-D [N, C] input (S = 1).
  for (const Shape& s : {Shape{5, 7, 13, 11}, Shape{9, 3, 37, 41}, Shape{37, 19}}) {
    const int64_t C = s[1];
    const Tensor x = shifted_rand(s, 1), w = shifted_rand({C}, 2, 0.5, 1.5), b = shifted_rand({C}, 3, -1, 1);
    const Tensor rm = shifted_rand({C}, 4, -1, 1), rv = shifted_rand({C}, 5, 0.5, 2);
    for (bool training : {true, false})
      for (bool affine : {true, false}) {
        INFO("shape " << s << " training " << training << " affine " << affine);
        const Tensor wa = affine ? w : Tensor(), ba = affine ? b : Tensor();
        check_results_close(run_batch_norm(x, wa, ba, rm, rv, training, Device::cuda()),
                            run_batch_norm(x, wa, ba, rm, rv, training, Device::cpu()), 1e-4, 1e-4);
      }
  }
}

TEST_CASE("group_norm cuda parity", "[cuda][norm]") {
  // [3, 4, 67, 71] with G = 1 has rows of 19028 values: split over several blocks per row.
  for (const auto& [s, G] : std::vector<std::pair<Shape, int64_t>>{
           {{5, 12, 9, 7}, 1}, {{5, 12, 9, 7}, 3}, {{5, 12, 9, 7}, 4}, {{2, 6, 33}, 6}, {{3, 4, 67, 71}, 1}}) {
    INFO("shape " << s << " groups " << G);
    const int64_t C = s[1];
    const Tensor x = shifted_rand(s, 1), w = shifted_rand({C}, 2, 0.5, 1.5), b = shifted_rand({C}, 3, -1, 1);
    check_results_close(run_group_norm(x, G, w, b, Device::cuda()), run_group_norm(x, G, w, b, Device::cpu()), 1e-4,
                        1e-4);
  }
}

TEST_CASE("layer_norm cuda parity", "[cuda][norm]") {
  // Short rows (D = 37, 3 * 11), a row longer than one block's share (D = 5003), and many rows
  // (M = 1031) for the column reductions of dgamma / dbeta.
  for (const auto& [s, norm] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{13, 37}, {37}}, {{7, 3, 11}, {3, 11}}, {{3, 5003}, {5003}}, {{1031, 19}, {19}}}) {
    INFO("shape " << s);
    const Shape ns(norm);
    const Tensor x = shifted_rand(s, 1), w = shifted_rand(ns, 2, 0.5, 1.5), b = shifted_rand(ns, 3, -1, 1);
    check_results_close(run_layer_norm(x, norm, w, b, Device::cuda()), run_layer_norm(x, norm, w, b, Device::cpu()),
                        1e-4, 1e-4);
  }
}

TEST_CASE("batch_norm cudnn engine matches the reference", "[cuda][norm][cudnn]") {
  for (const Shape& s : {Shape{5, 7, 13, 11}, Shape{9, 3, 37, 41}, Shape{37, 19}}) {
    const int64_t C = s[1];
    const Tensor x = shifted_rand(s, 1), w = shifted_rand({C}, 2, 0.5, 1.5), b = shifted_rand({C}, 3, -1, 1);
    const Tensor rm = shifted_rand({C}, 4, -1, 1), rv = shifted_rand({C}, 5, 0.5, 2);
    for (bool training : {true, false})
      for (bool affine : {true, false}) {
        INFO("shape " << s << " training " << training << " affine " << affine);
        const Tensor wa = affine ? w : Tensor(), ba = affine ? b : Tensor();
        const NormResult ref = run_batch_norm(x, wa, ba, rm, rv, training, Device::cpu());
        const EngineGuard use(batch_norm_engine(), Engine::Cudnn);
        check_results_close(run_batch_norm(x, wa, ba, rm, rv, training, Device::cuda()), ref, 1e-4, 1e-4);
      }
  }
}

TEST_CASE("norm cuda float64 gradcheck", "[cuda][norm][gradcheck]") {
  const Tensor rm = rand_const({6}, 11, -0.5, 0.5).to(Device::cuda()), rv = rand_const({6}, 12, 0.5, 1.5).to(Device::cuda());
  for (bool training : {true, false}) {
    INFO("batch_norm training " << training);
    CHECK_GRADCHECK(gradcheck(
        [&](const auto& in) { return ops::batch_norm(in[0], rm.clone(), rv.clone(), in[1], in[2], training); },
        {cuda_leaf({3, 6, 5, 7}, 1), cuda_leaf({6}, 2), cuda_leaf({6}, 3)}));
  }
  for (int64_t groups : {1, 2, 3}) {
    INFO("group_norm groups " << groups);
    CHECK_GRADCHECK(gradcheck([&](const auto& in) { return ops::group_norm(in[0], groups, in[1], in[2]); },
                              {cuda_leaf({2, 6, 5, 3}, 4), cuda_leaf({6}, 5), cuda_leaf({6}, 6)}));
  }
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::layer_norm(in[0], {3, 5, 4}, in[1], in[2]); },
                            {cuda_leaf({2, 3, 5, 4}, 7), cuda_leaf({3, 5, 4}, 8), cuda_leaf({3, 5, 4}, 9)}));
}

TEST_CASE("float64 norms on the CPU run the reference whichever engine is active", "[norm][engine]") {
  // The front-end routes float64 to ref (kernels/norm.cpp): checks in double compare with the
  // specification itself, bit for bit.
  Generator g(47);
  const Tensor x = rand({4, 6, 5, 3}, DType::Float64, &g, -2, 3);
  auto outputs = [&](Engine e) {
    const EngineGuard bn(batch_norm_engine(), e), gn(group_norm_engine(), e), ln(layer_norm_engine(), e);
    Tensor rm = zeros({6}, DType::Float64), rv = ones({6}, DType::Float64);
    return std::vector<std::vector<double>>{values(ops::batch_norm(x, rm, rv, Tensor(), Tensor(), true)),
                                            values(ops::group_norm(x, 3)), values(ops::layer_norm(x, {5, 3}))};
  };
  CHECK(outputs(Engine::Cpu) == outputs(Engine::Ref));
}

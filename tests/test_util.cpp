#include "test_util.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace minidl::testing {

double close_ratio(const Tensor& a, const Tensor& b, double rtol, double atol) {
  MINIDL_CHECK(a.shape() == b.shape(), "close_ratio: shapes differ: ", a.shape(), " vs ", b.shape());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double r = std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i]));
    if (std::isnan(r)) return INFINITY;
    worst = std::max(worst, r);
  }
  return worst;
}

std::string diff_report(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return "shapes differ: " + a.shape().str() + " vs " + b.shape().str();
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  size_t wi = 0;
  double worst = -1;
  for (size_t i = 0; i < va.size(); ++i) {
    const double r = std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i]));
    if (std::isnan(r) || r > worst) {
      worst = std::isnan(r) ? INFINITY : r;
      wi = i;
      if (std::isnan(r)) break;
    }
  }
  std::ostringstream os;
  os << "shape " << a.shape() << ": worst element " << wi << ": " << (va.empty() ? 0 : va[wi]) << " vs "
     << (vb.empty() ? 0 : vb[wi]) << " (error/tolerance " << worst << ")";
  return os.str();
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

Tensor f64(const std::vector<double>& v, const Shape& s) { return tensor(v, s, DType::Float64); }

Tensor rand_leaf(const Shape& s, uint64_t seed, double low, double high) {
  Generator g(seed);
  Tensor t = rand(s, DType::Float64, &g, low, high);
  t.requires_grad_(true);
  return t;
}

EngineResult run_engine(EngineChoice& choice, Engine e, const OpFn& f, const std::vector<Tensor>& inputs,
                        const std::vector<bool>& grad, uint64_t seed) {
  const EngineGuard use(choice, e);
  const Device device{engine_device(e), 0};
  std::vector<Tensor> x;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor t = inputs[i].defined() ? inputs[i].detach().to(device) : Tensor();
    if (t.defined() && i < grad.size() && grad[i]) t = t.clone().requires_grad_();
    x.push_back(t);
  }
  EngineResult r;
  const Tensor y = f(x);
  r.y = y.detach().to(Device::cpu());
  if (y.requires_grad()) {
    Generator gen(seed);
    const Tensor w = randn(y.shape(), y.dtype(), &gen).to(device);
    ops::sum(ops::mul(y, w)).backward();
  }
  for (const Tensor& t : x) r.grads.push_back(t.defined() && t.requires_grad() ? t.grad().to(Device::cpu()) : Tensor());
  return r;
}

namespace {
double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}
}  // namespace

void check_against_ref(EngineChoice& choice, Engine engine, const OpFn& f, const std::vector<Tensor>& inputs,
                       const std::vector<bool>& grad, double rtol, double atol_scale) {
  INFO(choice.family() << ": engine " << engine_name(engine) << " against ref");
  const EngineResult want = run_engine(choice, Engine::Ref, f, inputs, grad);
  const EngineResult got = run_engine(choice, engine, f, inputs, grad);
  {
    INFO("forward");
    CHECK_CLOSE(got.y, want.y, rtol, atol_scale * max_abs(want.y) + 1e-12);
  }
  for (size_t i = 0; i < want.grads.size(); ++i) {
    if (!want.grads[i].defined()) continue;
    INFO("gradient of input " << i);
    REQUIRE(got.grads[i].defined());
    CHECK_CLOSE(got.grads[i], want.grads[i], rtol, atol_scale * max_abs(want.grads[i]) + 1e-12);
  }
}

}  // namespace minidl::testing

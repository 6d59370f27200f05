// Pointwise unary ops (kernels/unary.h): values and gradients against PyTorch 1.13 (fixtures from
// tests/reference/unary_reference.py), float64 finite-difference gradchecks, the layers, errors,
// and the CUDA kernels against the reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "kernels/unary.h"
#include "layers/activation.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

UnaryOp op_named(const std::string& name) {
#define MINIDL_UNARY_FIND_(n, S) \
  if (name == #n) return UnaryOp::S;
  MINIDL_UNARY_OPS(MINIDL_UNARY_FIND_)
#undef MINIDL_UNARY_FIND_
  FAIL("unary.safetensors names an op minidl does not have: " << name);
  return UnaryOp::Exp;
}

double param(const nlohmann::json& v) {
  return v.is_string() ? std::numeric_limits<double>::infinity() : v.get<double>();  // "inf"
}

// Each op with parameters, on inputs inside its domain and away from its kinks (where the
// one-sided finite differences of gradcheck disagree with any derivative).
struct Case {
  UnaryOp op;
  double a, b;
  double lo, hi;
  std::vector<double> kinks;
};
const std::vector<Case>& smooth_cases() {
  static const std::vector<Case> cases = {
      {UnaryOp::Exp, 0, 0, -4, 4, {}},          {UnaryOp::Log, 0, 0, 0.05, 5, {}},
      {UnaryOp::Log1p, 0, 0, -0.9, 5, {}},      {UnaryOp::Sqrt, 0, 0, 0.05, 5, {}},
      {UnaryOp::Rsqrt, 0, 0, 0.05, 5, {}},      {UnaryOp::Abs, 0, 0, -4, 4, {0}},
      {UnaryOp::Neg, 0, 0, -4, 4, {}},          {UnaryOp::Sign, 0, 0, -4, 4, {0}},
      {UnaryOp::Sigmoid, 0, 0, -6, 6, {}},      {UnaryOp::Tanh, 0, 0, -4, 4, {}},
      {UnaryOp::Gelu, 0, 0, -5, 5, {}},         {UnaryOp::GeluTanh, 0, 0, -5, 5, {}},
      {UnaryOp::LeakyRelu, 0.1, 0, -4, 4, {0}}, {UnaryOp::Elu, 0.7, 0, -4, 4, {0}},
      {UnaryOp::Softplus, 1.5, 4, -5, 5, {4 / 1.5}}, {UnaryOp::Hardswish, 0, 0, -5, 5, {-3, 3}},
      {UnaryOp::Mish, 0, 0, -5, 5, {}},         {UnaryOp::Pow, 3, 0, -3, 3, {}},          {UnaryOp::Pow, -0.5, 0, 0.1, 4, {}},
      {UnaryOp::Clamp, -1, 2, -4, 4, {-1, 2}}};
  return cases;
}

// Uniform in [lo, hi], moved at least 0.05 from every kink.
Tensor away_from_kinks(const Case& c, const Shape& s, uint64_t seed) {
  Tensor t = rand_leaf(s, seed, c.lo, c.hi);
  std::vector<double> v = values(t);
  for (double& x : v)
    for (double k : c.kinks)
      if (std::abs(x - k) < 0.05) x = k + (x < k ? -0.05 : 0.05);
  return f64(v, s).requires_grad_();
}

}  // namespace

TEST_CASE("unary ops match PyTorch's values and gradients", "[unary]") {
  const SafetensorsFile f = load_safetensors(MINIDL_SOURCE_DIR "/tests/reference/unary.safetensors");
  auto tensor_named = [&](const std::string& n) {
    for (const auto& [name, t] : f.tensors)
      if (name == n) return t;
    FAIL("unary.safetensors lacks " << n);
    return Tensor();
  };
  const auto cases = nlohmann::json::parse(f.metadata.at("cases"));
  REQUIRE(cases.size() >= 20);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    INFO(name);
    const UnaryOp op = op_named(c["op"]);
    Tensor x = tensor_named(name + "/x").clone().requires_grad_();
    const Tensor y = ops::unary(op, x, param(c["a"]), param(c["b"]));
    ops::sum(y).backward();
    CHECK_CLOSE(y, tensor_named(name + "/y"), 1e-13, 1e-300);
    CHECK_CLOSE(x.grad(), tensor_named(name + "/dx"), 1e-13, 1e-300);
  }
}

TEST_CASE("unary gradcheck", "[unary][gradcheck]") {
  uint64_t seed = 40;
  for (const Case& c : smooth_cases()) {
    INFO(unary_op_name(c.op) << " a=" << c.a << " b=" << c.b);
    const Tensor x = away_from_kinks(c, {3, 4, 5}, ++seed);
    CHECK_GRADCHECK(gradcheck([&](const auto& in) { return ops::unary(c.op, in[0], c.a, c.b); }, {x}));
  }
}

TEST_CASE("unary ops: the named forms, the layers, float32, errors", "[unary]") {
  const Tensor x = f64({-2, -0.5, 0, 0.5, 2}, {5});
  CHECK(values(ops::clamp_min(x, 0)) == values(ops::relu(x)));
  CHECK(values(ops::clamp_max(x, 0)) == std::vector<double>{-2, -0.5, 0, 0, 0});
  CHECK(values(ops::neg(x)) == values(-x));
  CHECK(values(ops::pow(x, 2)) == values(ops::mul(x, x)));
  CHECK(values(nn::GELU()(x)) == values(ops::gelu(x)));
  CHECK(values(nn::GELU(nn::GELUOptions().approximate("tanh"))(x)) == values(ops::gelu(x, "tanh")));
  CHECK(values(nn::LeakyReLU(0.2)(x)) == values(ops::leaky_relu(x, 0.2)));
  CHECK(values(nn::ELU(0.5)(x)) == values(ops::elu(x, 0.5)));
  CHECK(values(nn::Softplus(nn::SoftplusOptions().beta(2))(x)) == values(ops::softplus(x, 2)));
  CHECK(values(nn::Sigmoid()(x)) == values(ops::sigmoid(x)));
  CHECK(values(nn::Tanh()(x)) == values(ops::tanh(x)));
  CHECK(values(nn::Hardswish()(x)) == values(ops::hardswish(x)));
  CHECK(values(nn::Mish()(x)) == values(ops::mish(x)));
  // float32 follows float64 to float32's precision.
  for (const Case& c : smooth_cases()) {
    INFO(unary_op_name(c.op));
    const Tensor x64 = away_from_kinks(c, {64}, 7).detach();
    CHECK_CLOSE(ops::unary(c.op, x64.to(DType::Float32), c.a, c.b).to(DType::Float64), ops::unary(c.op, x64, c.a, c.b),
                2e-6, 1e-7);
  }
  // The saturated tails stay finite where PyTorch's do.
  const Tensor far = f64({-800, 800}, {2});
  CHECK(values(ops::sigmoid(far)) == std::vector<double>{0, 1});
  CHECK(values(ops::softplus(far)) == std::vector<double>{0, 800});
  CHECK(values(ops::tanh(far)) == std::vector<double>{-1, 1});
  CHECK_THROWS_WITH(ops::gelu(x, "fast"), Catch::Contains("'none' or 'tanh'") && Catch::Contains("fast"));
  CHECK_THROWS_WITH(nn::GELU(nn::GELUOptions().approximate("erf")), Catch::Contains("'erf'"));
  CHECK_THROWS_WITH(ops::clamp(x, 2, 1), Catch::Contains("min <= max"));
  CHECK_THROWS_WITH(ops::softplus(x, 0), Catch::Contains("beta"));
  CHECK_THROWS_WITH(ops::exp(labels({1, 2})), Catch::Contains("exp") && Catch::Contains("int64"));
}

TEST_CASE("unary cuda parity", "[cuda][unary]") {
  const Device gpu = Device::cuda();
  uint64_t seed = 90;
  for (const DType dt : {DType::Float32, DType::Float64})
    for (const Case& c : smooth_cases()) {
      INFO(unary_op_name(c.op) << " " << dtype_name(dt));
      const Tensor base = away_from_kinks(c, {3, 5, 7}, ++seed).detach().to(dt);
      Tensor xc = base.clone().requires_grad_(), xg = base.to(gpu).requires_grad_();
      const Tensor yc = ops::unary(c.op, xc, c.a, c.b), yg = ops::unary(c.op, xg, c.a, c.b);
      const double rtol = dt == DType::Float32 ? 1e-5 : 1e-12;
      CHECK_CLOSE(yg.to(Device::cpu()), yc, rtol, rtol * 1e-2);
      ops::sum(ops::mul(yc, yc)).backward();
      ops::sum(ops::mul(yg, yg)).backward();
      CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 10 * rtol, rtol * 1e-1);
    }
}

// The composed losses (kernels/composite_loss.h) against PyTorch 1.13 (fixtures from
// tests/reference/loss_reference.py): every reduction's value and the input gradient, float64;
// gradchecks, errors, and the same numbers on CUDA.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/safetensors.h"
#include "kernels/composite_loss.h"
#include "kernels/elementwise.h"
#include "kernels/unary.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

const SafetensorsFile& fixture() {
  static const SafetensorsFile f = load_safetensors(MINIDL_SOURCE_DIR "/tests/reference/composite_loss.safetensors");
  return f;
}
Tensor named(const std::string& n) {
  for (const auto& [name, t] : fixture().tensors)
    if (name == n) return t;
  return Tensor();
}

// The loss of a fixture case with the given reduction.
Tensor loss_of(const nlohmann::json& c, const Tensor& input, const Tensor& target, const std::string& red) {
  const std::string loss = c["loss"], name = c["name"];
  const double param = c["param"];
  // Weights in the input's dtype and on its device.
  auto like_input = [&](const Tensor& t) { return t.defined() ? t.to(input.dtype()).to(input.device()) : Tensor(); };
  const Tensor weight = like_input(named(name + "/weight")), pos_weight = like_input(named(name + "/pos_weight"));
  if (loss == "mse_loss") return ops::mse_loss(input, target, red);
  if (loss == "l1_loss") return ops::l1_loss(input, target, red);
  if (loss == "huber_loss") return ops::huber_loss(input, target, red, param);
  if (loss == "smooth_l1_loss") return ops::smooth_l1_loss(input, target, red, param);
  if (loss == "binary_cross_entropy") return ops::binary_cross_entropy(input, target, weight, red);
  if (loss == "binary_cross_entropy_with_logits")
    return ops::binary_cross_entropy_with_logits(input, target, weight, red, pos_weight);
  if (loss == "kl_div") return ops::kl_div(input, target, red, param != 0);
  FAIL("unknown loss in the fixture: " << loss);
  return Tensor();
}

}  // namespace

TEST_CASE("composed losses match PyTorch's values and gradients", "[loss][composite]") {
  const auto cases = nlohmann::json::parse(fixture().metadata.at("cases"));
  REQUIRE(cases.size() >= 10);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    INFO(name);
    const Tensor input = named(name + "/input"), target = named(name + "/target");
    for (const char* red : {"none", "sum", "mean", "batchmean"}) {
      const Tensor expected = named(name + "/" + red);
      if (!expected.defined()) continue;
      INFO(red);
      CHECK_CLOSE(loss_of(c, input, target, red), expected, 1e-12, 1e-14);
    }
    Tensor x = input.clone().requires_grad_();
    loss_of(c, x, target, c["loss"] == "kl_div" ? "batchmean" : "mean").backward();
    CHECK_CLOSE(x.grad(), named(name + "/grad"), 1e-12, 1e-14);
  }
}

TEST_CASE("composed losses: gradcheck of input and target, saturated inputs, errors", "[loss][composite][gradcheck]") {
  const Tensor x = rand_leaf({3, 4}, 5, -2, 2), y = rand_leaf({3, 4}, 6, -2, 2);
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::mse_loss(in[0], in[1]); }, {x, y}));
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::huber_loss(in[0], in[1], "sum", 0.8); }, {x, y}));
  const Tensor p = rand_leaf({3, 4}, 7, 0.05, 0.95), t = rand_leaf({3, 4}, 8, 0, 1);
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::binary_cross_entropy(in[0], in[1]); }, {p, t}));
  CHECK_GRADCHECK(gradcheck(
      [](const auto& in) { return ops::binary_cross_entropy_with_logits(in[0], in[1], Tensor(), "mean", in[2]); },
      {x, t, rand_leaf({4}, 9, 0.5, 2)}));
  // Saturated inputs stay finite, as in PyTorch: log clamped at -100, logits in the stable form.
  const Tensor ends = f64({0, 1}, {2}), truth = f64({1, 0}, {2});
  CHECK(values(ops::binary_cross_entropy(ends, truth)) == std::vector<double>{100});
  CHECK(values(ops::binary_cross_entropy_with_logits(f64({-800, 800}, {2}), truth))[0] == Approx(800));  // both wrong by 800
  CHECK_THROWS_WITH(ops::mse_loss(x, y, "average"), Catch::Contains("'mean', 'sum' or 'none'") &&
                                                        Catch::Contains("average"));
  CHECK_THROWS_WITH(ops::mse_loss(x, rand_leaf({2, 3, 4}, 1)), Catch::Contains("does not fit input shape"));
  CHECK_THROWS_WITH(ops::huber_loss(x, y, "mean", 0), Catch::Contains("delta must be positive"));
}

TEST_CASE("composed losses cuda parity", "[cuda][loss][composite]") {
  const auto cases = nlohmann::json::parse(fixture().metadata.at("cases"));
  for (const DType dt : {DType::Float32, DType::Float64})
    for (const auto& c : cases) {
      const std::string name = c["name"];
      INFO(name << " " << dtype_name(dt));
      const Tensor input = named(name + "/input").to(dt), target = named(name + "/target").to(dt);
      const double tol = dt == DType::Float32 ? 1e-5 : 1e-12;
      const Tensor xc = input.clone().requires_grad_(), xg = input.to(Device::cuda()).requires_grad_();
      const std::string red = c["loss"] == "kl_div" ? "batchmean" : "mean";
      const Tensor lc = loss_of(c, xc, target, red), lg = loss_of(c, xg, target.to(Device::cuda()), red);
      CHECK_CLOSE(lg.to(Device::cpu()), lc, tol, tol);
      lc.backward();
      lg.backward();
      CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 10 * tol, tol);
    }
}

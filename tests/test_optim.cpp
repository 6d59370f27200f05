// Optimizers against torch.optim: three steps from p = [0.5, -1, 2] with fixed gradients.
// Reference values: tests/reference/optim_reference.py (PyTorch 1.13), pasted below.
#include <catch2/catch.hpp>

#include "core/random.h"
#include "kernels/optim_update.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {
using Steps = std::vector<std::vector<double>>;
const Steps kGrads = {{0.1, -0.2, 0.3}, {-0.4, 0.5, 0.05}, {0.25, 0.15, -0.35}};

template <class MakeOpt>
void check_three_steps(MakeOpt make, const Steps& expected, Device device = Device::cpu(), double tol = 1e-12) {
  Tensor p = tensor({0.5, -1.0, 2.0}, {3}, TensorOptions().dtype(DType::Float64).device(device));
  p.requires_grad_();
  auto opt = make(std::vector<Tensor>{p});
  for (size_t t = 0; t < 3; ++t) {
    p.set_grad(tensor(kGrads[t], {3}, TensorOptions().dtype(DType::Float64).device(device)));
    opt.step();
    INFO("step " << t + 1);
    CHECK_CLOSE(p, tensor(expected[t], {3}, DType::Float64), tol, tol);
  }
}
}  // namespace

TEST_CASE("SGD matches torch.optim.SGD", "[optim]") {
  check_three_steps([](auto ps) { return optim::SGD(ps, optim::SGDOptions(0.1)); },
                    {{0.49, -0.98, 1.97}, {0.53, -1.03, 1.965}, {0.505, -1.045, 2.0}});
  check_three_steps(
      [](auto ps) { return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01)); },
      {{0.4895, -0.979, 1.968},
       {0.51560945, -1.0042189, 1.9329288},
       {0.516143906495, -1.03951211299, 1.93112508408}});
  check_three_steps(
      [](auto ps) { return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01)); },
      {{0.48005, -0.9601, 1.9392},
       {0.546632905, -1.03626581, 1.90009552},
       {0.5224509619804999, -1.087210223961, 1.934036586512}});
}

TEST_CASE("Adam and AdamW match torch.optim", "[optim]") {
  check_three_steps([](auto ps) { return optim::Adam(ps, optim::AdamOptions(0.01)); },
                    {{0.4900000009999999, -0.9900000005, 1.9900000003333334},
                     {0.4955950357485128, -0.9944221530217233, 1.9821667272150607},
                     {0.4959793874663799, -0.9994300183360315, 1.9830212642832423}});
  check_three_steps(
      [](auto ps) { return optim::Adam(ps, optim::AdamOptions(0.01).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1)); },
      {{0.4900000666662222, -0.9900000333332222, 1.99000001999996},
       {0.494746514647536, -0.9925240643061751, 1.9808574856437264},
       {0.49307108422007934, -0.9950604979406592, 1.9763380795649044}});
  check_three_steps([](auto ps) { return optim::AdamW(ps, optim::AdamOptions(0.01).weight_decay(0.1)); },
                    {{0.4895000009999999, -0.9890000004999999, 1.9880000003333334},
                     {0.4946055357475128, -0.9924331530212233, 1.9781787272147273},
                     {0.4944952819296323, -0.9964485851825102, 1.9770550855556943}});
}

TEST_CASE("optimizer state round trip resumes identically", "[optim]") {
  auto run = [](bool interrupt) {
    Tensor p = tensor({0.5, -1.0, 2.0}, {3}, DType::Float64);
    p.requires_grad_();
    auto opt = std::make_unique<optim::Adam>(std::vector<Tensor>{p}, optim::AdamOptions(0.01));
    for (size_t t = 0; t < 3; ++t) {
      if (interrupt && t == 2) {  // rebuild the optimizer from its saved state
        optim::OptimizerState s = opt->state_dict();
        opt = std::make_unique<optim::Adam>(std::vector<Tensor>{p}, optim::AdamOptions(0.5));
        opt->load_state_dict(s);
      }
      p.set_grad(tensor(kGrads[t], {3}, DType::Float64));
      opt->step();
    }
    return values(p);
  };
  CHECK(run(true) == run(false));
}

TEST_CASE("optimizer errors", "[optim][errors]") {
  Tensor p = zeros({2}).requires_grad_();
  CHECK_THROWS_WITH(optim::SGD({p}, optim::SGDOptions(0.1).nesterov(true)), Catch::Contains("nesterov"));
  CHECK_THROWS_WITH(optim::Adam({p}, optim::AdamOptions(0.1).betas(1.0, 0.9)), Catch::Contains("betas"));
  CHECK_THROWS_WITH(optim::SGD({zeros({2})}, optim::SGDOptions(0.1)), Catch::Contains("requires grad"));
  optim::Adam opt({p}, optim::AdamOptions(0.1));
  optim::OptimizerState bad;
  bad.scalars = {{"lr", 0.1}, {"momentum", 0.9}, {"state.0.step", 1}};
  bad.tensors = {{"state.0.exp_avg", zeros({3})}};
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Contains("[3]") && Catch::Contains("[2]"));
  // A non-numeric parameter index names the key, not just "stoul".
  bad.tensors = {{"state.x.exp_avg", zeros({2})}};
  CHECK_THROWS_WITH(opt.load_state_dict(bad), Catch::Contains("'state.x.exp_avg'") && Catch::Contains("parameter index"));
}

TEST_CASE("optim_update cuda parity", "[cuda][optim]") {
  check_three_steps([](auto ps) { return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(0.01)); },
                    {{0.48005, -0.9601, 1.9392},
                     {0.546632905, -1.03626581, 1.90009552},
                     {0.5224509619804999, -1.087210223961, 1.934036586512}},
                    Device::cuda(), 1e-12);
  check_three_steps([](auto ps) { return optim::AdamW(ps, optim::AdamOptions(0.01).weight_decay(0.1)); },
                    {{0.4895000009999999, -0.9890000004999999, 1.9880000003333334},
                     {0.4946055357475128, -0.9924331530212233, 1.9781787272147273},
                     {0.4944952819296323, -0.9964485851825102, 1.9770550855556943}},
                    Device::cuda(), 1e-12);
}

TEST_CASE("the tuned optimizer updates match the reference", "[optim][engine]") {
  for (DType dt : {DType::Float32, DType::Float64})
    for (int64_t n : {int64_t(5), int64_t(100003)}) {
      INFO(n << " " << dt);
      Generator g(31);
      const Tensor p0 = rand({n}, dt, &g, -1, 1), grad = rand({n}, dt, &g, -1, 1), b0 = rand({n}, dt, &g, -1, 1),
                   v0 = rand({n}, dt, &g, 0, 1);
      auto run = [&](Engine e, bool adam) {
        const EngineGuard use(optim_update_engine(), e);
        Tensor p = p0.clone(), m = b0.clone(), v = v0.clone();
        if (adam) ops::adam_update_(p, grad, m, v, 0.01, 0.9, 0.999, 1e-8, 0.1, true, 3);
        else ops::sgd_update_(p, grad, m, 0.1, 0.9, 0.0, 5e-4, true, false);
        return std::vector<Tensor>{p, m, v};
      };
      for (bool adam : {false, true}) {
        const auto a = run(Engine::Cpu, adam), b = run(Engine::Ref, adam);
        for (int k = 0; k < 3; ++k) CHECK_CLOSE(a[k], b[k], 1e-6, 1e-7);
      }
    }
}

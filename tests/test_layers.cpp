// nn::Module and the layers: registration and names, train/eval behaviour, state dicts, devices.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/random.h"
#include "kernels/conv.h"
#include "kernels/linear.h"
#include "kernels/reduce.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "layers/sequential.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {
nn::Sequential small_net() {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 4, 3).padding(1)), nn::BatchNorm2d(4), nn::ReLU(),
                        nn::Dropout(0.5), nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(4, 3));
}
// A user's own modules: one through a holder, one used through a plain shared pointer.
class TwiceImpl : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return x * 2.0; }
};
MINIDL_MODULE(Twice);
struct PlainModule : nn::Module {
  PlainModule() { fc = register_module("fc", nn::Linear(3, 2)); }
  Tensor forward(const Tensor& x) override { return fc(x); }
  nn::Linear fc{nullptr};
};

std::vector<std::string> names(const NamedTensors& nt) {
  std::vector<std::string> out;
  for (auto& [n, t] : nt) out.push_back(n);
  return out;
}
}  // namespace

TEST_CASE("modules register parameters, buffers and children by dotted name", "[layers]") {
  manual_seed(0);
  auto net = small_net();
  CHECK(names(net->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "6.weight", "6.bias"});
  CHECK(names(net->named_buffers()) == std::vector<std::string>{"1.running_mean", "1.running_var"});
  CHECK(net->num_parameters() == 3 * 4 * 9 + 4 + 4 + 4 + 4 * 3 + 3);
  for (const Tensor& p : net->parameters()) CHECK(p.requires_grad());
  for (auto& [n, b] : net->named_buffers()) CHECK_FALSE(b.requires_grad());
  CHECK(net->str().find("(0): Conv2d(3, 4, kernel_size=(3, 3), padding=(1, 1))") != std::string::npos);
}

TEST_CASE("conv and linear initialize like PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in))", "[layers]") {
  manual_seed(1);
  nn::Conv2d conv(nn::Conv2dOptions(16, 32, 3));
  const double bound = 1.0 / std::sqrt(16.0 * 9);
  double lo = 1, hi = -1;
  for (double v : values(conv->weight)) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi - lo > 1.9 * bound);  // 4608 draws fill the interval
  nn::BatchNorm2d bn(8);
  CHECK(values(bn->weight) == std::vector<double>(8, 1.0));
  CHECK(values(bn->running_var) == std::vector<double>(8, 1.0));
}

TEST_CASE("train and eval switch batch norm and dropout", "[layers]") {
  manual_seed(2);
  nn::BatchNorm2d bn(3);
  const Tensor x = randn({4, 3, 5, 5}) * 3.0 + 2.0;
  Tensor y_train = bn(x);
  // Training normalizes with the batch statistics: every channel has mean ~0.
  CHECK(std::abs(ops::mean(y_train).item()) < 1e-5);
  // and moves the running statistics toward the batch's (momentum 0.1).
  for (double m : values(bn->running_mean)) CHECK(m > 0.05);
  bn->eval();
  CHECK_FALSE(bn->is_training());
  Tensor y_eval = bn(x);
  CHECK(close_ratio(y_eval, y_train, 1e-3, 1e-3) > 1.0);  // running statistics differ from the batch's

  nn::Dropout drop(0.5);
  const Tensor ones4 = ones({1000});
  const auto dropped = values(drop(ones4));
  CHECK(std::count(dropped.begin(), dropped.end(), 0.0) > 300);
  drop->eval();
  CHECK(values(drop(ones4)) == values(ones4));
}

TEST_CASE("state_dict round trip reproduces outputs bit for bit", "[layers]") {
  manual_seed(3);
  auto a = small_net();
  {  // change the running statistics too
    NoGradGuard g;
    a(randn({8, 3, 6, 6}));
  }
  manual_seed(99);
  auto b = small_net();
  b->load_state_dict(a->state_dict());
  a->eval();
  b->eval();
  const Tensor x = randn({5, 3, 6, 6});
  CHECK(values(a(x)) == values(b(x)));
}

TEST_CASE("load_state_dict errors name the key and both shapes", "[layers][errors]") {
  manual_seed(4);
  auto net = small_net();
  NamedTensors state = net->state_dict();
  NamedTensors missing(state.begin() + 1, state.end());
  CHECK_THROWS_WITH(net->load_state_dict(missing), Catch::Contains("missing key '0.weight'"));
  NamedTensors wrong = state;
  wrong[0].second = zeros({4, 3, 5, 5});
  CHECK_THROWS_WITH(net->load_state_dict(wrong),
                    Catch::Contains("'0.weight'") && Catch::Contains("[4, 3, 5, 5]") && Catch::Contains("[4, 3, 3, 3]"));
  NamedTensors extra = state;
  extra.emplace_back("9.weight", zeros({1}));
  CHECK_THROWS_WITH(net->load_state_dict(extra), Catch::Contains("unexpected key '9.weight'"));
}

TEST_CASE("layer construction errors", "[layers][errors]") {
  CHECK_THROWS_WITH(nn::GroupNorm(3, 16), Catch::Contains("3") && Catch::Contains("16"));
  CHECK_THROWS_WITH(nn::make_norm(nn::NormKind::Group, 10, 4), Catch::Contains("4 groups") && Catch::Contains("10"));
  CHECK_THROWS_WITH(nn::Conv2d(nn::Conv2dOptions(6, 4, 3).groups(4)), Catch::Contains("groups=4"));
  CHECK_THROWS_WITH(nn::Dropout(1.5), Catch::Contains("1.5"));
  CHECK_THROWS_WITH(nn::parse_norm_kind("instance"), Catch::Contains("'instance'"));
}

TEST_CASE("module to(dtype) converts parameters and buffers in place", "[layers]") {
  manual_seed(5);
  auto net = small_net();
  const Tensor w = net->parameters()[0];  // a handle held elsewhere (e.g. by an optimizer)
  net->to(DType::Float64);
  CHECK(w.dtype() == DType::Float64);
  for (auto& [n, t] : net->state_dict()) CHECK(t.dtype() == DType::Float64);
  net->eval();
  CHECK(net(randn({2, 3, 4, 4}, DType::Float64)).dtype() == DType::Float64);
}

TEST_CASE("residual block gradcheck", "[layers][gradcheck]") {
  manual_seed(6);
  nn::Residual block(nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 3, 3).padding(1)), nn::ReLU()));
  block->to(DType::Float64);
  const NamedTensors params = block->named_parameters();
  Tensor w = params[0].second, b = params[1].second;
  CHECK_GRADCHECK(gradcheck([&](const auto& in) { return block(in[0]); }, {rand_leaf({2, 3, 4, 5}, 7), w, b}));
}

TEST_CASE("modules move to cuda and back", "[cuda][layers]") {
  manual_seed(7);
  auto net = small_net();
  net->eval();
  const Tensor x = randn({2, 3, 6, 6});
  const Tensor y_cpu = net(x);
  net->to(Device::cuda());
  for (auto& [n, t] : net->state_dict()) CHECK(t.is_cuda());
  CHECK_CLOSE(net(x.to(Device::cuda())).to(Device::cpu()), y_cpu, 1e-4, 1e-5);
  net->to(Device::cpu());
  CHECK(values(net(x)) == values(y_cpu));
}

TEST_CASE("weight-standardized Conv2d uses zero-mean unit-variance filters, with exact gradients", "[layers]") {
  manual_seed(11);
  nn::Conv2d conv(nn::Conv2dOptions(3, 4, 3).padding(1).bias(false).standardize(true));
  conv->to(DType::Float64);
  const Tensor x = rand_leaf({2, 3, 5, 5}, 12);
  // Forward: the same as a plain convolution with the standardized weight, computed by hand.
  std::vector<double> w = values(conv->weight);
  const size_t per = w.size() / 4;
  for (size_t o = 0; o < 4; ++o) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < per; ++i) mean += w[o * per + i];
    mean /= double(per);
    for (size_t i = 0; i < per; ++i) var += (w[o * per + i] - mean) * (w[o * per + i] - mean);
    var /= double(per);
    for (size_t i = 0; i < per; ++i) w[o * per + i] = (w[o * per + i] - mean) / std::sqrt(var + 1e-5);
  }
  const Tensor expected = ops::conv2d(x, f64(w, conv->weight.shape()), Tensor(), ops::Conv2dFuncOptions().padding(1));
  CHECK_CLOSE(conv(x), expected, 1e-12, 1e-12);
  CHECK(conv->extra_repr().find("weight_standardization=True") != std::string::npos);
  // Backward through the standardization: gradcheck with respect to the input and the weight.
  CHECK_GRADCHECK(gradcheck([&](const std::vector<Tensor>& in) { return conv(in[0]); }, {x, conv->weight}));
}

TEST_CASE("module holders are values that share their module and are called like functions", "[layers]") {
  manual_seed(12);
  nn::Linear a(3, 2);
  nn::Linear b = a;  // a copy shares the module
  CHECK(b.ptr() == a.ptr());
  const Tensor x = randn({4, 3});
  CHECK(values(a(x)) == values((*a)(x)));
  CHECK(values(a(x)) == values(ops::linear(x, a->weight, a->bias)));
  nn::AnyModule any = a;  // any module, through the Module interface
  CHECK(any.ptr() == a.ptr());
  CHECK(values(any(x)) == values(a(x)));
  nn::Conv2d unset{nullptr};
  CHECK(unset.is_empty());
  CHECK_FALSE(unset);
  CHECK_THROWS_WITH(unset(x), Catch::Contains("empty module holder"));
  // register_module takes a holder and returns the module, which a holder member keeps.
  PlainModule p;
  CHECK(names(p.named_parameters()) == std::vector<std::string>{"fc.weight", "fc.bias"});
  CHECK(values(p(x)) == values(p.fc(x)));
  Twice twice;  // default-constructed module
  CHECK(values(twice(x)) == values(x * 2.0));
}

TEST_CASE("type_name defaults to the class name without namespace and Impl", "[layers]") {
  CHECK(nn::Conv2d(nn::Conv2dOptions(1, 1, 1))->type_name() == "Conv2d");
  CHECK(nn::BatchNorm2d(2)->type_name() == "BatchNorm2d");
  CHECK(nn::Sequential()->type_name() == "Sequential");
  CHECK(nn::AdaptiveAvgPool2d(1)->type_name() == "AdaptiveAvgPool2d");
  CHECK(Twice()->type_name() == "Twice");
  CHECK(PlainModule().type_name() == "PlainModule");
  nn::Sequential s{Twice(), nn::ReLU()};
  CHECK(s->str().find("(0): Twice()") != std::string::npos);
}

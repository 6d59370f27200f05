// bench_ops: the speed of minidl's ops, forward and forward+backward, at the layer shapes of the
// four reference CIFAR-10 CNNs (skipnet48k, convnet39k, gapnet39k, c10net48k) and of minidl50k
// (batch 128) and,
// with --device cuda, of resnet9 (batch 512). apps/bench_ops_torch.py times the same cases in
// PyTorch and apps/bench_table.py joins the two JSON files into a markdown table:
//
//   bench_ops --device cpu --threads 2 --json minidl.json
//   python3 apps/bench_ops_torch.py --cases minidl.json --json torch.json
//   python3 apps/bench_table.py --minidl minidl.json --torch torch.json
//   bench_ops --device cuda --engine both --json minidl.json    (also times cuDNN's conv2d / batch_norm)
//
// A case is (op, input shape, args); the JSON carries all three, which is how the PyTorch script
// runs exactly these cases. Timing (same in both programs): two warm-up calls, a loop of n calls
// with n chosen so the loop takes >= 20 ms, then the median of --repeats such loops, divided by
// n. On CUDA the clock is read only after cuda::synchronize(). Inputs are random leaves that
// require grad (not the image of a first conv: a training step needs no gradient there);
// forward+backward calls backward with a random upstream gradient after setting the leaves'
// grads to none, as a training step after zero_grad() would. The forward runs with grad mode on
// (it records the node, as in training). On a busy machine run both programs with
// OMP_WAIT_POLICY=passive: with spinning waits, a parallel region stalls for a scheduler slice
// (~10 ms) whenever its second thread has lost its core to another process.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "minidl.h"
#include "kernels/conv.h"
#include "kernels/dropout.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/pool.h"
#include "kernels/softmax.h"

using namespace minidl;
using nlohmann::json;

namespace {

struct Case {
  std::string name, op;
  std::vector<int64_t> shape;  // of the input x
  json args;                   // op parameters (kernel, stride, pad, out, bias, groups, p, x_grad, ...)
};

std::string chw(int64_t c, int64_t h) { return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(h); }

// A conv layer: C -> K channels, k x k window, stride s, padding p, input H x H, in `groups` groups.
struct ConvSpec { int64_t C, K, k, s, p, H; bool bias; int64_t groups = 1; };
// A conv's output (what norms, ReLU and dropout see): C channels of H x H, in `model`, whose
// group norm default is `groups`.
struct ActSpec { std::string model; int64_t C, H, groups; };

// The distinct conv layers of the reference CNNs and minidl50k (layers/models/*.cpp), in model order.
const std::vector<ConvSpec> kConv50k = {
    // skipnet48k
    {3, 8, 3, 1, 1, 32, false}, {8, 8, 3, 1, 1, 32, false}, {8, 16, 3, 2, 1, 32, false}, {8, 16, 1, 2, 0, 32, false},
    {16, 16, 3, 1, 1, 16, false}, {16, 16, 3, 2, 1, 16, false}, {16, 16, 1, 2, 0, 16, false},
    {16, 16, 3, 1, 1, 8, false}, {16, 32, 3, 1, 1, 8, false}, {32, 32, 3, 1, 1, 8, false},
    {16, 32, 1, 1, 0, 8, false}, {32, 10, 1, 1, 0, 1, false},
    // convnet39k
    {3, 16, 3, 1, 0, 32, false}, {16, 32, 3, 1, 0, 30, false}, {32, 16, 1, 1, 0, 28, false},
    {16, 16, 3, 1, 0, 14, false}, {16, 32, 3, 1, 0, 12, false}, {32, 32, 3, 1, 1, 10, false},
    {32, 16, 1, 1, 0, 10, false}, {16, 16, 3, 1, 1, 5, false}, {16, 32, 3, 1, 1, 5, false}, {32, 32, 3, 1, 1, 5, false},
    // gapnet39k
    {3, 10, 3, 1, 0, 32, false}, {10, 20, 3, 1, 0, 30, false}, {20, 10, 1, 1, 0, 28, false},
    {10, 20, 3, 1, 1, 14, false}, {20, 30, 3, 1, 1, 14, false}, {30, 40, 3, 1, 1, 14, false},
    {40, 10, 1, 1, 0, 14, false}, {10, 20, 3, 1, 0, 7, false}, {20, 30, 3, 1, 0, 5, false},
    {30, 40, 3, 1, 0, 3, false}, {40, 10, 1, 1, 0, 1, false},
    // c10net48k (every conv has a bias)
    {3, 16, 3, 1, 1, 32, true}, {16, 16, 3, 1, 1, 32, true}, {16, 8, 1, 1, 0, 32, true},
    {8, 32, 3, 1, 1, 16, true}, {32, 32, 3, 1, 1, 16, true}, {32, 16, 1, 1, 0, 16, true},
    // minidl50k (no bias; depthwise 3x3 + pointwise 1x1 from stage 2 on)
    {3, 24, 3, 1, 1, 32, false}, {24, 24, 3, 1, 1, 32, false}, {24, 48, 3, 2, 1, 32, false},
    {24, 48, 1, 2, 0, 32, false}, {48, 48, 3, 1, 1, 16, false, 48}, {48, 48, 1, 1, 0, 16, false},
    {48, 48, 3, 2, 1, 16, false, 48}, {48, 80, 1, 1, 0, 8, false}, {80, 80, 3, 1, 1, 8, false, 80},
    {80, 80, 1, 1, 0, 8, false}, {48, 80, 1, 2, 0, 16, false}};
// The distinct normalized activations (each listed under the first model that has it).
const std::vector<ActSpec> kAct50k = {
    {"skipnet48k", 8, 32, 4}, {"skipnet48k", 16, 16, 4}, {"skipnet48k", 16, 8, 4}, {"skipnet48k", 32, 8, 4},
    {"convnet39k", 16, 30, 4}, {"convnet39k", 32, 28, 4}, {"convnet39k", 16, 12, 4}, {"convnet39k", 32, 10, 4},
    {"convnet39k", 16, 5, 4}, {"convnet39k", 32, 5, 4},
    {"gapnet39k", 10, 30, 5}, {"gapnet39k", 20, 28, 5}, {"gapnet39k", 20, 14, 5}, {"gapnet39k", 30, 14, 5},
    {"gapnet39k", 40, 14, 5}, {"gapnet39k", 20, 5, 5}, {"gapnet39k", 30, 3, 5}, {"gapnet39k", 40, 1, 5},
    {"c10net48k", 16, 32, 4}, {"c10net48k", 32, 16, 4},
    {"minidl50k", 24, 32, 4}, {"minidl50k", 48, 16, 4}, {"minidl50k", 80, 8, 4}};
// resnet9: convs 3x3 padding 1 without bias, a norm after each (after the pool in layer1-3).
const std::vector<ConvSpec> kConvR9 = {{3, 64, 3, 1, 1, 32, false},    {64, 128, 3, 1, 1, 32, false},
                                       {128, 128, 3, 1, 1, 16, false}, {128, 256, 3, 1, 1, 16, false},
                                       {256, 512, 3, 1, 1, 8, false},  {512, 512, 3, 1, 1, 4, false}};
const std::vector<ActSpec> kActR9 = {
    {"resnet9", 64, 32, 32}, {"resnet9", 128, 16, 32}, {"resnet9", 256, 8, 32}, {"resnet9", 512, 4, 32}};

// Every case of one model set; the prefix "r9 " keeps resnet9's names apart.
std::vector<Case> make_cases(bool resnet9) {
  const int64_t N = resnet9 ? 512 : 128;
  std::vector<Case> cs;
  auto add = [&](const std::string& name, const std::string& op, std::vector<int64_t> shape, json args = json::object()) {
    cs.push_back({(resnet9 ? "r9 " : "") + name, op, std::move(shape), std::move(args)});
  };
  auto act = [&](const std::string& op, const ActSpec& a, json args = json::object()) {
    std::string name = op + " ";
    for (auto& [k, v] : args.items()) name += (k == "groups" ? "G" : k) + v.dump() + " ";
    add(name + chw(a.C, a.H), op, {N, a.C, a.H, a.H}, std::move(args));
  };
  auto pool = [&](const std::string& op, int64_t C, int64_t H, int64_t k) {
    add(op + " k" + std::to_string(k) + " " + chw(C, H), op, {N, C, H, H}, {{"kernel", k}});
  };
  for (const ConvSpec& c : resnet9 ? kConvR9 : kConv50k) {
    const std::string k = std::to_string(c.k), hw = std::to_string(c.H) + "x" + std::to_string(c.H);
    add("conv2d " + k + "x" + k + " " + std::to_string(c.C) + "->" + std::to_string(c.K) + " s" + std::to_string(c.s) +
            " p" + std::to_string(c.p) + (c.groups > 1 ? " g" + std::to_string(c.groups) : "") +
            (c.bias ? " bias " : " ") + hw,
        "conv2d", {N, c.C, c.H, c.H},
        {{"out", c.K}, {"kernel", c.k}, {"stride", c.s}, {"pad", c.p}, {"bias", c.bias}, {"groups", c.groups},
         {"x_grad", c.C != 3}});
  }
  const std::vector<ActSpec>& acts = resnet9 ? kActR9 : kAct50k;
  for (const ActSpec& a : acts) act("batch_norm", a);
  for (const ActSpec& a : acts) act("group_norm", a, {{"groups", 1}});
  for (const ActSpec& a : acts) act("group_norm", a, {{"groups", a.groups}});
  for (const ActSpec& a : acts) act("layer_norm", a);
  for (const ActSpec& a : acts) act("relu", a);
  if (resnet9) {
    pool("max_pool2d", 128, 32, 2); pool("max_pool2d", 256, 16, 2); pool("max_pool2d", 512, 8, 2);
    pool("max_pool2d", 512, 4, 4);
    act("add", kActR9[1]); act("add", kActR9[3]);  // the two residual blocks
    add("linear 512->10", "linear", {N, 512}, {{"out", 10}});
    add("cross_entropy 10", "cross_entropy", {N, 10});
    return cs;
  }
  pool("max_pool2d", 16, 28, 2); pool("max_pool2d", 16, 10, 2);  // convnet39k
  pool("max_pool2d", 10, 28, 2); pool("max_pool2d", 10, 14, 2);  // gapnet39k
  pool("max_pool2d", 8, 32, 2); pool("max_pool2d", 16, 16, 2);   // c10net48k
  pool("avg_pool2d", 32, 5, 5);                                  // convnet39k
  pool("avg_pool2d", 40, 1, 1);                                  // gapnet39k
  pool("avg_pool2d", 32, 8, 8);                                  // c10net48k
  add("adaptive_avg_pool2d 32x8x8", "adaptive_avg_pool2d", {N, 32, 8, 8});  // skipnet48k
  for (const ActSpec& a : acts)
    if (a.model == "gapnet39k") act("dropout", a, {{"p", 0.05}});
  for (const ActSpec& a : acts)
    if (a.model == "skipnet48k" || a.model == "c10net48k") act("dropout2d", a, {{"p", 0.05}});
  for (const ActSpec& a : acts)
    if (a.model == "skipnet48k" || a.model == "minidl50k") act("add", a);  // residual additions
  add("softmax 10", "softmax", {N, 10});
  add("log_softmax 10", "log_softmax", {N, 10});
  add("cross_entropy 10", "cross_entropy", {N, 10});
  add("linear 32->10", "linear", {N, 32}, {{"out", 10}});  // the 1x1 classifier conv as a matmul
  return cs;
}

// The inputs of one case (random leaves) and its forward as a closure.
struct Prepared {
  std::vector<Tensor> leaves;
  std::function<Tensor()> forward;
};

Prepared prepare(const Case& c, Device dev) {
  const TensorOptions o = TensorOptions().device(dev);
  Prepared p;
  auto leaf = [&](const Shape& s, bool grad = true) {
    Tensor t = randn(s, o);
    if (grad) {
      t.requires_grad_(true);
      p.leaves.push_back(t);
    }
    return t;
  };
  const Shape xs(c.shape);
  const int64_t C = xs.ndim() > 1 ? xs[1] : 1;
  const json& a = c.args;
  Tensor x = leaf(xs, a.value("x_grad", true));
  const std::string& op = c.op;
  if (op == "conv2d") {
    const int64_t K = a["out"], k = a["kernel"], groups = a.value("groups", int64_t(1));
    Tensor w = leaf({K, C / groups, k, k}), b = a["bias"].get<bool>() ? leaf({K}) : Tensor();
    const auto opt =
        ops::Conv2dFuncOptions().stride(a["stride"].get<int64_t>()).padding(a["pad"].get<int64_t>()).groups(groups);
    p.forward = [=] { return ops::conv2d(x, w, b, opt); };
  } else if (op == "batch_norm") {
    Tensor rm = zeros({C}, o), rv = ones({C}, o), w = leaf({C}), b = leaf({C});
    p.forward = [=] { return ops::batch_norm(x, rm, rv, w, b, true); };
  } else if (op == "group_norm") {
    const int64_t G = a["groups"];
    Tensor w = leaf({C}), b = leaf({C});
    p.forward = [=] { return ops::group_norm(x, G, w, b); };
  } else if (op == "layer_norm") {
    const std::vector<int64_t> ns(c.shape.begin() + 1, c.shape.end());
    Tensor w = leaf(Shape(ns)), b = leaf(Shape(ns));
    p.forward = [=] { return ops::layer_norm(x, ns, w, b); };
  } else if (op == "max_pool2d" || op == "avg_pool2d") {
    const ops::Pool2dFuncOptions opt(a["kernel"].get<int64_t>());
    const bool max = op == "max_pool2d";
    p.forward = [=] { return max ? ops::max_pool2d(x, opt) : ops::avg_pool2d(x, opt); };
  } else if (op == "adaptive_avg_pool2d") {
    p.forward = [=] { return ops::adaptive_avg_pool2d(x, {1, 1}); };
  } else if (op == "dropout" || op == "dropout2d") {
    const double prob = a["p"];
    const bool d2 = op == "dropout2d";
    p.forward = [=] { return d2 ? ops::dropout2d(x, prob, true) : ops::dropout(x, prob, true); };
  } else if (op == "relu") {
    p.forward = [=] { return ops::relu(x); };
  } else if (op == "add") {
    Tensor y = leaf(xs);
    p.forward = [=] { return ops::add(x, y); };
  } else if (op == "softmax" || op == "log_softmax") {
    const bool log = op == "log_softmax";
    p.forward = [=] { return log ? ops::log_softmax(x, 1) : ops::softmax(x, 1); };
  } else if (op == "cross_entropy") {
    std::vector<int64_t> t(xs[0]);
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int64_t>((i * 7) % xs[1]);
    Tensor target = labels(t, dev);
    p.forward = [=] { return ops::cross_entropy(x, target); };
  } else if (op == "linear") {
    Tensor w = leaf({a["out"].get<int64_t>(), C}), b = leaf({a["out"].get<int64_t>()});
    p.forward = [=] { return ops::linear(x, w, b); };
  } else {
    MINIDL_FAIL("unknown op '", op, "' in case '", c.name, "'");
  }
  return p;
}

// Milliseconds per call of step: warm-up, calibrate a loop of >= 20 ms, median of `repeats` loops.
double time_ms(const std::function<void()>& step, bool cuda, int repeats) {
  using clock = std::chrono::steady_clock;
  auto loop_ms = [&](int64_t n) {
    if (cuda) cuda::synchronize();
    const auto t0 = clock::now();
    for (int64_t i = 0; i < n; ++i) step();
    if (cuda) cuda::synchronize();
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  loop_ms(2);  // warm-up: allocator caches, cuDNN plans, page faults
  const double one = loop_ms(1);
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(20.0 / std::max(one, 1e-3))));
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) t.push_back(loop_ms(n) / static_cast<double>(n));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times minidl's ops (forward, forward+backward) at the layer shapes of the reference CIFAR-10 CNNs\n"
               "(batch 128) and, on CUDA, of resnet9 (batch 512). Compare with apps/bench_ops_torch.py."};
  std::string device = "cpu", engine = "native", filter, json_path;
  int threads = 0, repeats = 5;
  bool list = false;
  app.add_option("--device", device, "cpu or cuda")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0: OpenMP's default, all cores)")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed loops per measurement (the median is reported)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--filter", filter, "Run only the cases whose name contains this substring");
  app.add_option("--json", json_path, "Write the cases and results to this JSON file");
  app.add_option("--engine", engine, "CUDA engine for conv2d and batch_norm: native, cudnn or both")
      ->capture_default_str()->check(CLI::IsMember({"native", "cudnn", "both"}));
  app.add_flag("--list", list, "List the cases (and write them with --json) without timing");
  CLI11_PARSE(app, argc, argv);
  try {
    const Device dev = Device::parse(device);
    MINIDL_CHECK(dev.is_cpu() || list || cuda::is_available(), "--device ", device, " but no usable GPU was found");
    MINIDL_CHECK(dev.is_cuda() || engine == "native", "--engine ", engine, " needs --device cuda");
    if (threads > 0) set_num_threads(threads);
    std::vector<Case> cases = make_cases(false);
    if (dev.is_cuda())
      for (Case& c : make_cases(true)) cases.push_back(std::move(c));

    json out = {{"framework", "minidl"}, {"device", dev.is_cpu() ? "cpu" : list ? "cuda" : cuda::device_name()},
                {"threads", get_num_threads()}, {"repeats", repeats}, {"results", json::array()}};
    for (const Case& c : cases) {
      if (c.name.find(filter) == std::string::npos) continue;
      const bool has_engines = dev.is_cuda() && (c.op == "conv2d" || c.op == "batch_norm");
      std::vector<std::string> engines = {"native"};
      if (has_engines && engine != "native") engines = engine == "both" ? std::vector<std::string>{"native", "cudnn"}
                                                                        : std::vector<std::string>{"cudnn"};
      for (const std::string& e : engines) {
        json r = {{"name", c.name}, {"op", c.op}, {"shape", c.shape}, {"args", c.args}, {"engine", e}};
        if (!list) {
          if (dev.is_cuda()) {  // "native" (the label the result files use) is the hand-written cuda engine
            conv_engine().set(e == "cudnn" ? Engine::Cudnn : Engine::Cuda);
            batch_norm_engine().set(e == "cudnn" ? Engine::Cudnn : Engine::Cuda);
          }
          manual_seed(0);
          Prepared p = prepare(c, dev);
          const Tensor g = randn(p.forward().shape(), TensorOptions().device(dev));  // the upstream gradient
          r["fwd_ms"] = time_ms([&] { p.forward(); }, dev.is_cuda(), repeats);
          r["fwdbwd_ms"] = time_ms([&] {
            Tensor y = p.forward();
            for (Tensor& t : p.leaves) t.set_grad(Tensor());
            y.backward(g);
          }, dev.is_cuda(), repeats);
        }
        std::printf("%-42s %-18s %-6s", c.name.c_str(), Shape(c.shape).str().c_str(), e.c_str());
        if (!list) std::printf(" fwd %9.3f ms  fwd+bwd %9.3f ms", r["fwd_ms"].get<double>(), r["fwdbwd_ms"].get<double>());
        std::printf("\n");
        std::fflush(stdout);
        out["results"].push_back(std::move(r));
      }
    }
    if (!json_path.empty()) {
      std::ofstream f(json_path);
      MINIDL_CHECK(f.good(), "cannot write '", json_path, "'");
      f << out.dump(1) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_ops: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

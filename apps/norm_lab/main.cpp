// norm_lab: batch, group, layer and instance norm on real CIFAR-10 batches, as tables and PNGs
// (the demonstrations behind docs/normalization.md).
//
//   norm_lab --data datasets --out norm_lab_out
//
// The norms act on what the first norm layer of convnet39k sees: relu(conv(x)) with its 3->16
// 3x3 conv (seeded initialization) applied to normalized training images. The first --pool
// images give batch norm its running statistics; the next --held-out images are the ones the
// demonstrations normalize. Everything runs on the CPU (under 20 s on 2 cores).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/norm_lab/lab.h"
#include "core/autograd.h"
#include "core/random.h"
#include "data/cifar10.h"
#include "data/dataloader.h"
#include "kernels/elementwise.h"
#include "layers/conv.h"

namespace minidl::norm_lab {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

void section(const std::string& title) { std::printf("\n== %s ==\n", title.c_str()); }

void Table::print() const {
  std::vector<size_t> width(header_.size(), 0);
  auto fit = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  fit(header_);
  for (const auto& r : rows_) fit(r);
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      const std::string pad(width[i] - cell.size(), ' ');
      s += (i == 0 ? cell + pad : "  " + pad + cell);
    }
    std::printf("%s\n", s.c_str());
  };
  line(header_);
  size_t total = 0;
  for (size_t w : width) total += w + 2;
  std::printf("%s\n", std::string(total - 2, '-').c_str());
  for (const auto& r : rows_) line(r);
}

SetStats set_stats(const Tensor& x, const Scope& scope) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  const int64_t sets = scope.groups == 0 ? C : N * scope.groups, D = scope.groups == 0 ? 1 : C / scope.groups;
  MINIDL_CHECK(scope.groups == 0 || C % scope.groups == 0, "set_stats: ", scope.groups, " groups do not divide ", C,
               " channels");
  std::vector<double> sum(sets, 0.0), count(sets, 0.0);
  const float* p = x.data<float>();
  auto set_of = [&](int64_t n, int64_t c) { return scope.groups == 0 ? c : n * scope.groups + c / D; };
  // Two passes (mean, then squared deviations), like the kernels.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const float* q = p + (n * C + c) * S;
      double s = 0;
      for (int64_t i = 0; i < S; ++i) s += q[i];
      sum[set_of(n, c)] += s, count[set_of(n, c)] += static_cast<double>(S);
    }
  SetStats r;
  r.mean.resize(sets), r.std.assign(sets, 0.0);
  for (int64_t k = 0; k < sets; ++k) r.mean[k] = sum[k] / count[k];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const float* q = p + (n * C + c) * S;
      const double mu = r.mean[set_of(n, c)];
      double s = 0;
      for (int64_t i = 0; i < S; ++i) s += (q[i] - mu) * (q[i] - mu);
      r.std[set_of(n, c)] += s;
    }
  for (int64_t k = 0; k < sets; ++k) r.std[k] = std::sqrt(r.std[k] / count[k]);
  return r;
}

}  // namespace minidl::norm_lab

int main(int argc, char** argv) {
  using namespace minidl;
  using namespace minidl::norm_lab;
  CLI::App app{"Shows what batch, group, layer and instance norm do to real CIFAR-10 activations: statistics\n"
               "before and after each norm, batch norm's train/eval gap as the batch shrinks, and the\n"
               "gradient that reaches the first conv layer. Prints tables and writes PNGs to --out."};
  std::string data_dir, out;
  Lab lab;
  lab.model = "convnet39k";
  int64_t pool = 2048, held_out = 512;
  app.add_option("--data", data_dir, "CIFAR-10 binary folder (cifar-10-batches-bin) or its parent")->required();
  app.add_option("--out", out, "Folder for the PNGs (created if missing)")->required();
  app.add_option("--pool", pool, "Training images that give batch norm its running statistics")
      ->capture_default_str()->check(CLI::Range(int64_t{128}, int64_t{40000}));
  app.add_option("--held-out", held_out, "Further images the demonstrations normalize (a multiple of 128)")
      ->capture_default_str()->check(CLI::Range(int64_t{128}, int64_t{10000}));
  app.add_option("--groups", lab.groups, "Group norm's group count in the statistics and train/eval demonstrations "
                                         "(divides 16; the gradient one uses the model's default)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 2, 4, 8, 16}));
  app.add_option("--model", lab.model, "Zoo model of the gradient demonstration")->capture_default_str();
  app.add_option("--seed", lab.seed, "Seed of the conv initialization")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (held_out % 128 != 0) {
    std::cerr << "norm_lab: --held-out must be a multiple of 128, got " << held_out << "\n";
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  try {
    std::filesystem::create_directories(out);
    lab.out = out;
    // Normalized images (the evaluation transform: no augmentation), in file order.
    const data::Cifar10 train = data::load_cifar10(data_dir, data::Split::Train, pool + held_out);
    MINIDL_CHECK(train.size() == pool + held_out, "norm_lab: wanted ", pool + held_out, " images, the split has ",
                 train.size());
    data::DataLoader loader(train, data::DataLoaderOptions().batch_size(pool + held_out).shuffle(false).workers(0));
    loader.start_epoch(0);
    data::Batch all;
    loader.next(all);
    std::printf("norm_lab: CIFAR-10 (JPEG q75 copy) training images 0..%lld from %s: %lld for running statistics, "
                "%lld held out\n",
                static_cast<long long>(pool + held_out - 1), train.folder.c_str(), static_cast<long long>(pool),
                static_cast<long long>(held_out));
    // convnet39k's first layer: the same draw as make_model("convnet39k") after manual_seed(seed).
    manual_seed(lab.seed);
    nn::Conv2d conv(nn::Conv2dOptions(3, 16, 3).bias(false));
    {
      NoGradGuard no_grad;
      const Tensor acts = ops::relu(conv(all.images));
      const int64_t per = acts.numel() / acts.size(0);
      const Shape s = acts.shape();
      lab.pool = empty({pool, s[1], s[2], s[3]});
      lab.held_out = empty({held_out, s[1], s[2], s[3]});
      std::copy_n(acts.data<float>(), pool * per, lab.pool.data<float>());
      std::copy_n(acts.data<float>() + pool * per, held_out * per, lab.held_out.data<float>());
      lab.images = all.images.slice_rows(pool, pool + held_out).clone();
      lab.labels = all.labels.slice_rows(pool, pool + held_out).clone();
    }
    std::printf("first norm layer's input: relu(conv 3->16, 3x3, no padding), shape [N, %lld, %lld, %lld]\n",
                static_cast<long long>(lab.pool.size(1)), static_cast<long long>(lab.pool.size(2)),
                static_cast<long long>(lab.pool.size(3)));

    draw_axes_figure(out + "/norm_axes.png");
    run_statistics(lab);
    run_train_eval_gap(lab);
    run_gradient_scale(lab);
  } catch (const Error& e) {
    std::cerr << "norm_lab: " << e.what() << "\n";
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nnorm_lab: done in %.1f s; pictures in %s\n", s, out.c_str());
  return 0;
}

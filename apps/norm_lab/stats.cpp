// Statistics before and after each norm: which sets of values come out with mean 0 and
// standard deviation 1, per channel (batch norm's sets), per group and per (n, c) plane.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "apps/norm_lab/lab.h"
#include "core/autograd.h"
#include "kernels/norm.h"

namespace minidl::norm_lab {
namespace {

// "0.000" rather than "-0.000" for values that round to zero.
std::string num(double v, const char* format = "%.3f") {
  std::string s = fmt(format, v);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);
  return s;
}

struct Norm {
  std::string name;
  std::function<Tensor(const Tensor&)> apply;
};

// The norms as the zoo uses them, without affine (gamma = 1 and beta = 0 at initialization).
std::vector<Norm> norms(int64_t groups, int64_t C) {
  return {{"batch", [](const Tensor& x) { return ops::batch_norm(x, {}, {}, {}, {}, true); }},
          {"group G=" + std::to_string(groups), [=](const Tensor& x) { return ops::group_norm(x, groups); }},
          {"layer (G=1)", [](const Tensor& x) { return ops::group_norm(x, 1); }},
          {"instance (G=" + std::to_string(C) + ")", [=](const Tensor& x) { return ops::group_norm(x, C); }}};
}

}  // namespace

void run_statistics(const Lab& lab) {
  NoGradGuard no_grad;
  const int64_t B = 128, C = lab.held_out.size(1), G = lab.groups;
  const Tensor x = lab.held_out.slice_rows(0, B);
  const std::vector<Norm> ns = norms(G, C);
  std::vector<Tensor> ys;
  for (const Norm& n : ns) ys.push_back(n.apply(x));

  section("1. Statistics before and after each norm (one batch of 128 held-out images)");
  std::printf("Per channel, over (N, H*W) = batch norm's sets. Only batch and instance norm make every row 0 / 1.\n");
  {
    std::vector<std::string> header = {"channel", "before mean", "std"};
    for (const Norm& n : ns) header.push_back(n.name + " mean"), header.push_back("std");
    Table t(header);
    std::vector<SetStats> s = {set_stats(x, {"channel", 0})};
    for (const Tensor& y : ys) s.push_back(set_stats(y, {"channel", 0}));
    for (int64_t c = 0; c < C; ++c) {
      std::vector<std::string> row = {std::to_string(c)};
      for (const SetStats& st : s) row.push_back(num(st.mean[c])), row.push_back(num(st.std[c]));
      t.row(row);
    }
    t.print();
  }

  std::printf("\nPer group of %lld channels of images 0 and 1, over (C/G, H*W) = group norm's sets (G = %lld).\n",
              static_cast<long long>(C / G), static_cast<long long>(G));
  {
    std::vector<std::string> header = {"image, group", "before mean", "std"};
    for (const Norm& n : ns) header.push_back(n.name + " mean"), header.push_back("std");
    Table t(header);
    std::vector<SetStats> s = {set_stats(x, {"group", G})};
    for (const Tensor& y : ys) s.push_back(set_stats(y, {"group", G}));
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t g = 0; g < G; ++g) {
        std::vector<std::string> row = {std::to_string(n) + ", " + std::to_string(g)};
        for (const SetStats& st : s) row.push_back(num(st.mean[n * G + g])), row.push_back(num(st.std[n * G + g]));
        t.row(row);
      }
    t.print();
  }

  // Every norm (group norm with every group count) against every kind of set: a norm makes its
  // own sets exactly standard (up to eps), and any union of them has mean 0 and std 1 too.
  std::printf("\nEvery kind of set after every norm. Each cell: max |mean| over the sets, then min..max of their\n"
              "std. A norm makes its own sets mean 0, std sqrt(var / (var + eps)) ~ 1, and any union of them too.\n");
  {
    std::vector<Scope> scopes = {{"channel (N,HW)", 0}, {"sample (C,HW)", 1}};
    if (G != 1 && G != C) scopes.push_back({"group of " + std::to_string(C / G) + " (n,g)", G});
    scopes.push_back({"plane (n,c)", C});
    std::vector<std::string> header = {"norm", "values/set"};
    for (const Scope& s : scopes) header.push_back("per " + s.name);
    Table t(header);
    auto add = [&](const std::string& name, const std::string& m, const Tensor& y) {
      std::vector<std::string> row = {name, m};
      for (const Scope& s : scopes) {
        const SetStats st = set_stats(y, s);
        double worst = 0;
        for (double v : st.mean) worst = std::max(worst, std::fabs(v));
        const auto [lo, hi] = std::minmax_element(st.std.begin(), st.std.end());
        row.push_back(num(worst) + "  " + num(*lo, "%.2f") + ".." + num(*hi, "%.2f"));
      }
      t.row(row);
    };
    const int64_t S = x.size(2) * x.size(3);
    add("none", "-", x);
    add("batch", std::to_string(B * S), ys[0]);
    for (int64_t g = 1; g <= C; g *= 2)
      add("group G=" + std::to_string(g) + (g == 1 ? " (layer)" : g == C ? " (instance)" : ""),
          std::to_string(C / g * S), ops::group_norm(x, g));
    t.print();
    // Sets whose variance is not large against eps keep a std below 1 (a set of equal values: 0).
    int64_t dead = 0, faint = 0;
    const auto planes = set_stats(x, {"plane", C});
    for (double sd : planes.std) dead += sd == 0.0, faint += sd > 0.0 && sd * sd < 1e-3;
    std::printf("Input planes (n, c) that are all zero (ReLU): %lld of %lld; with variance below 1e-3: %lld. Instance\n"
                "norm maps the first to 0 and gives the others std sqrt(var / (var + 1e-5)) < 1.\n",
                static_cast<long long>(dead), static_cast<long long>(B * C), static_cast<long long>(faint));
  }

  // Heat maps of the mean and std of each (n, c) plane for the first 32 images.
  const int64_t rows = 32;
  std::vector<Heatmap> means, stds;
  auto panel = [&](const std::string& caption, const Tensor& y) {
    const SetStats st = set_stats(y.slice_rows(0, rows), {"plane", C});
    means.push_back({caption, st.mean});
    stds.push_back({caption, st.std});
  };
  panel("before", x);
  for (size_t i = 0; i < ns.size(); ++i) panel(ns[i].name, ys[i]);
  heatmaps(lab.out + "/stats_plane_mean.png",
           "Mean of each (image, channel) plane, first 32 images: CIFAR-10 (JPEG q75 copy)", means, rows, C, -1.5, 0,
           1.5, "channel c", "image n");
  heatmaps(lab.out + "/stats_plane_std.png",
           "Std of each (image, channel) plane, first 32 images: CIFAR-10 (JPEG q75 copy)", stds, rows, C, 0, 1, 2,
           "channel c", "image n");
  std::printf("\nwrote stats_plane_mean.png, stats_plane_std.png (rows: images, columns: channels)\n");
}

}  // namespace minidl::norm_lab

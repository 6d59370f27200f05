// The random parts of training, tested by their statistics: dropout masks (the rate, whole
// channels, independence between the (sample, channel) pairs of one call and between calls, i.e.
// between layers and steps), the crop and flip draws of the augmentation (uniform, independent of
// each other and between epochs), and the loader's order (every image once per epoch, every
// position equally likely). PyTorch and minidl draw different numbers, so training runs of the
// two can only agree if these distributions are right; tests/test_train_parity.cpp covers the
// deterministic rest.
//
// Every test draws from fixed seeds, so it is deterministic; the bounds are at a one-in-a-million
// tail (4.9 standard deviations, or the chi-square quantile below), far from what a correct
// generator gives and far inside what a biased one (a crop that never reaches one shift, a mask
// repeated between layers) does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/random.h"
#include "data/dataloader.h"
#include "kernels/augment.h"
#include "kernels/dropout.h"
#include "layers/dropout.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

constexpr double kZ = 4.9;  // ~1e-6 two-sided

// Upper 1e-6 quantile of chi-square with k degrees of freedom (Wilson-Hilferty; within ~1% for k >= 8).
double chi2_limit(int k) {
  const double a = 2.0 / (9.0 * k), z = 4.75;  // one-sided 1e-6
  return k * std::pow(1 - a + z * std::sqrt(a), 3);
}

// Pearson's statistic of counts against equal expected counts.
double chi2_uniform(const std::vector<int64_t>& counts) {
  double n = 0;
  for (int64_t c : counts) n += static_cast<double>(c);
  const double e = n / static_cast<double>(counts.size());
  double x = 0;
  for (int64_t c : counts) x += (static_cast<double>(c) - e) * (static_cast<double>(c) - e) / e;
  return x;
}

// |count - n p| within kZ standard deviations of Binomial(n, p).
bool binomial_ok(int64_t count, int64_t n, double p) {
  return std::abs(static_cast<double>(count) - static_cast<double>(n) * p) <=
         kZ * std::sqrt(static_cast<double>(n) * p * (1 - p));
}

// The keep mask of one dropout2d call on ones [N, C, H, W]: one bool per (n, c); checks that every
// channel is whole (all kept at exactly 1/(1-p), or all 0).
std::vector<bool> channel_mask(const Tensor& y, int64_t N, int64_t C, int64_t HW, double p) {
  const auto v = values(y);
  std::vector<bool> keep(static_cast<size_t>(N * C));
  int64_t broken = 0;
  for (int64_t k = 0; k < N * C; ++k) {
    keep[k] = v[k * HW] != 0.0;
    for (int64_t i = 0; i < HW; ++i) broken += v[k * HW + i] != (keep[k] ? 1.0 / (1.0 - p) : 0.0);
  }
  CHECK(broken == 0);
  return keep;
}

}  // namespace

TEST_CASE("dropout2d keeps 1 - p of the (sample, channel) pairs, independently across pairs, layers and steps",
          "[stats][dropout]") {
  const int64_t N = 500, C = 16, HW = 9, pairs = N * C;
  const double p = 0.25;
  const Tensor ones_in = ones({N, C, 3, 3}, DType::Float64);
  manual_seed(3);
  // Six calls on the default generator, as six Dropout2d layers of one step, or one layer over six
  // steps, see them: the generator's counter moves on by one Philox block per 4 pairs each time.
  nn::Dropout2d layer(p);
  layer->train();
  std::vector<std::vector<bool>> masks;
  for (int call = 0; call < 6; ++call) {
    const uint64_t before = default_generator().offset();
    masks.push_back(channel_mask(layer(ones_in), N, C, HW, p));
    CHECK(default_generator().offset() == before + (pairs + 3) / 4);
  }
  auto kept = [](const std::vector<bool>& m) { return static_cast<int64_t>(std::count(m.begin(), m.end(), true)); };
  for (size_t a = 0; a < masks.size(); ++a) {
    INFO("call " << a);
    CHECK(binomial_ok(kept(masks[a]), pairs, 1 - p));
    // Within one call: neighbouring pairs (the same Philox block: k, k + 1), the next block
    // (k, k + 4), the same channel of the next sample (k, k + C): kept together at rate (1 - p)^2.
    for (int64_t lag : {int64_t(1), int64_t(4), C}) {
      int64_t both = 0;
      for (int64_t k = 0; k + lag < pairs; ++k) both += masks[a][k] && masks[a][k + lag];
      INFO("lag " << lag);
      CHECK(binomial_ok(both, pairs - lag, (1 - p) * (1 - p)));
    }
    // Between calls (layers, steps): a pair kept in both, or a pair and its shifted neighbour (a
    // counter that moved on too little repeats the mask shifted), at rate (1 - p)^2, not 1 - p.
    for (size_t b = a + 1; b < masks.size(); ++b)
      for (int64_t lag : {int64_t(0), int64_t(1), int64_t(4), C}) {
        int64_t both = 0;
        for (int64_t k = 0; k + lag < pairs; ++k) both += masks[a][k + lag] && masks[b][k];
        INFO("and call " << b << " at lag " << lag);
        CHECK(binomial_ok(both, pairs - lag, (1 - p) * (1 - p)));
      }
  }
  // Eval mode draws nothing and changes nothing.
  layer->eval();
  const uint64_t before = default_generator().offset();
  CHECK(values(layer(ones_in)) == values(ones_in));
  CHECK(default_generator().offset() == before);
}

TEST_CASE("dropout keeps 1 - p of the elements, uniformly over the positions of a Philox block", "[stats][dropout]") {
  const int64_t n = 64 * 1001;  // not a multiple of the 64-element chunks
  const double p = 0.1;
  Generator g(5);
  const auto v = values(ops::dropout(ones({n}, DType::Float64), p, true, &g));
  std::vector<int64_t> kept_at(4, 0);  // by the element's word in its Philox block
  for (int64_t i = 0; i < n; ++i) {
    REQUIRE((v[i] == 0.0 || v[i] == 1.0 / (1.0 - p)));
    kept_at[i % 4] += v[i] != 0.0;
  }
  for (int j = 0; j < 4; ++j) CHECK(binomial_ok(kept_at[j], n / 4, 1 - p));
}

TEST_CASE("crop shifts and flips are uniform and independent, per sample and epoch", "[stats][augment]") {
  const AugmentOptions opt = AugmentOptions().cutout(true).cutout_size(8);  // pad 4: shifts -4..4
  const int64_t n = 81 * 400;
  std::vector<int64_t> dy(9, 0), dx(9, 0), shift(81, 0), flip_by_dx(18, 0), hole_y(32, 0), hole_x(32, 0);
  int64_t flips = 0, same_dy = 0, same_flip = 0;
  for (int64_t i = 0; i < n; ++i) {
    const AugmentParam a = draw_augment_param(opt, 32, 32, 11, 0, i);
    const AugmentParam b = draw_augment_param(opt, 32, 32, 11, 1, i);  // the same sample, next epoch
    REQUIRE((a.dy >= -4 && a.dy <= 4 && a.dx >= -4 && a.dx <= 4 && (a.flip == 0 || a.flip == 1)));
    ++dy[a.dy + 4], ++dx[a.dx + 4], ++shift[(a.dy + 4) * 9 + a.dx + 4];
    ++flip_by_dx[(a.dx + 4) * 2 + a.flip], flips += a.flip;
    ++hole_y[a.hole_y], ++hole_x[a.hole_x];
    same_dy += a.dy == b.dy, same_flip += a.flip == b.flip;
  }
  CHECK(chi2_uniform(dy) <= chi2_limit(8));
  CHECK(chi2_uniform(dx) <= chi2_limit(8));
  CHECK(chi2_uniform(shift) <= chi2_limit(80));       // dy and dx independent
  CHECK(binomial_ok(flips, n, 0.5));
  CHECK(chi2_uniform(flip_by_dx) <= chi2_limit(17));  // the flip independent of the shift
  CHECK(chi2_uniform(hole_y) <= chi2_limit(31));
  CHECK(chi2_uniform(hole_x) <= chi2_limit(31));
  // A sample's draws of two epochs are independent: equal by chance only.
  CHECK(binomial_ok(same_dy, n, 1.0 / 9));
  CHECK(binomial_ok(same_flip, n, 0.5));
  // Different seeds give different draws (the seed reaches the augmentation stream).
  int64_t same_seed_dy = 0;
  for (int64_t i = 0; i < 9000; ++i)
    same_seed_dy += draw_augment_param(opt, 32, 32, 11, 0, i).dy == draw_augment_param(opt, 32, 32, 12, 0, i).dy;
  CHECK(binomial_ok(same_seed_dy, 9000, 1.0 / 9));
}

TEST_CASE("the loader's order puts every image at every position equally often", "[stats][data]") {
  // 16 images in batches of 5: 4 batches (5, 5, 5, 1); 3,200 epochs.
  const int64_t n = 16, epochs = 3200;
  data::Cifar10 d;
  d.labels.resize(n);
  d.pixels.assign(n * data::Cifar10::kImageBytes, 0);
  for (int64_t i = 0; i < n; ++i) d.labels[i] = i % 10;
  d.class_names = data::cifar10_class_names();
  data::DataLoader loader(d, data::DataLoaderOptions().batch_size(5).seed(7).workers(0));
  std::vector<int64_t> at(n * n, 0);  // image x position
  int64_t first_twice = 0;
  std::vector<int64_t> previous;
  for (int64_t e = 0; e < epochs; ++e) {
    const std::vector<int64_t> order = loader.epoch_order(e);
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) REQUIRE(sorted[i] == i);  // a permutation: every image once
    for (int64_t pos = 0; pos < n; ++pos) ++at[order[pos] * n + pos];
    if (!previous.empty()) first_twice += order[0] == previous[0];
    previous = order;
  }
  CHECK(chi2_uniform(at) <= chi2_limit(static_cast<int>((n - 1) * (n - 1))));
  CHECK(binomial_ok(first_twice, epochs - 1, 1.0 / n));  // consecutive epochs independent
  // The loader delivers exactly that order, batch by batch (with worker threads too).
  data::DataLoader threaded(d, data::DataLoaderOptions().batch_size(5).seed(7).workers(2));
  threaded.start_epoch(9);
  data::Batch b;
  std::vector<int64_t> seen;
  while (threaded.next(b)) seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  CHECK(seen == loader.epoch_order(9));
}

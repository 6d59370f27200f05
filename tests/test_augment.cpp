// Augmentation: crop / flip / cutout / normalize values on small images by hand, the parameter
// draws (bounds, reproducibility), errors, and CPU/CUDA parity.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/random.h"
#include "kernels/augment.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// A 1-channel H x W image with in(y, x) = 10 * y + x + 1 (never 0, so padding is visible).
std::vector<uint8_t> ramp_image(int H, int W) {
  std::vector<uint8_t> img(static_cast<size_t>(H * W));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) img[y * W + x] = static_cast<uint8_t>(10 * y + x + 1);
  return img;
}

// Identity normalization (mean 0, std 1) in float64, so out = v / 255 exactly.
AugmentOptions identity_norm(bool cutout = false, int64_t size = 0) {
  return AugmentOptions().normalize({0.0}, {1.0}).cutout(cutout).cutout_size(size);
}

// out(y, x) * 255, rounded back to the pixel value (exact: out = v / 255 in float64).
std::vector<int> pixels_of(const Tensor& out) {
  std::vector<int> px;
  for (double v : values(out)) px.push_back(static_cast<int>(std::lround(v * 255.0)));
  return px;
}

}  // namespace

TEST_CASE("crop stays within bounds and shifts exactly", "[augment]") {
  const int H = 4, W = 5;
  const auto img = ramp_image(H, W);
  AugmentParam p;
  p.dy = 1, p.dx = -2;  // out(y, x) = in(y + 1, x - 2), 0 outside
  const Tensor out = ops::augment(img.data(), {1, 1, H, W}, {p}, identity_norm(), DType::Float64);
  // Row 0 = in row 1 shifted right by 2: [0, 0, 11, 12, 13]; row 3 = in row 4: all padding.
  CHECK(pixels_of(out) == std::vector<int>{0, 0, 11, 12, 13,  //
                                           0, 0, 21, 22, 23,  //
                                           0, 0, 31, 32, 33,  //
                                           0, 0, 0, 0, 0});
  // Exact values, not just rounded: out = v / 255.
  CHECK(values(out)[2] == 11.0 / 255.0);

  // Draws: shifts in [-pad, pad], every value reached; none without crop.
  std::set<int> dys, dxs;
  for (int64_t i = 0; i < 2000; ++i) {
    const AugmentParam d = draw_augment_param(AugmentOptions().pad(3), 32, 32, 7, 0, i);
    dys.insert(d.dy), dxs.insert(d.dx);
  }
  CHECK(dys == std::set<int>{-3, -2, -1, 0, 1, 2, 3});
  CHECK(dxs == dys);
  for (int64_t i = 0; i < 100; ++i) {
    const AugmentParam d = draw_augment_param(AugmentOptions().crop(false), 32, 32, 7, 0, i);
    CHECK((d.dy == 0 && d.dx == 0));
  }
}

TEST_CASE("pad fill: black pixels or the mean colour, which normalizes to 0", "[augment]") {
  const int H = 3, W = 4;
  const auto img = ramp_image(H, W);
  AugmentParam p;
  p.dy = -1, p.dx = 2, p.flip = 1;  // out(y, x) = in(y - 1, W - 1 - x + 2)
  const auto opt = AugmentOptions().normalize({0.25}, {0.5}).cutout(false);
  const auto zero = values(ops::augment(img.data(), {1, 1, H, W}, {p}, opt, DType::Float64));
  const auto mean = values(ops::augment(img.data(), {1, 1, H, W}, {p}, AugmentOptions(opt).pad_fill(PadFill::Mean),
                                        DType::Float64));
  const double black = (0.0 / 255 - 0.25) / 0.5;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const int sy = y - 1, sx = W - 1 - x + 2;
      const bool inside = sy >= 0 && sx < W;
      const int k = y * W + x;
      INFO("y " << y << ", x " << x);
      if (inside) {
        const double v = (img[sy * W + sx] / 255.0 - 0.25) / 0.5;
        CHECK(zero[k] == v);
        CHECK(mean[k] == v);
      } else {
        CHECK(zero[k] == black);
        CHECK(mean[k] == 0.0);
      }
    }
  // Padding: row 0, and columns 0-1 of rows 1-2 (their source columns 5 and 4 are outside): 8 of 12.
  CHECK(std::count(mean.begin(), mean.end(), 0.0) == 8);
  CHECK(parse_pad_fill("mean") == PadFill::Mean);
  CHECK(std::string(pad_fill_name(parse_pad_fill("zero"))) == "zero");
  CHECK_THROWS_WITH(parse_pad_fill("grey"), Catch::Contains("'grey'") && Catch::Contains("zero") &&
                                                Catch::Contains("mean"));
}

TEST_CASE("flip is exact", "[augment]") {
  const int H = 2, W = 5;
  const auto img = ramp_image(H, W);  // rows [1 2 3 4 5], [11 12 13 14 15]
  AugmentParam p;
  p.flip = 1;
  CHECK(pixels_of(ops::augment(img.data(), {1, 1, H, W}, {p}, identity_norm(), DType::Float64)) ==
        std::vector<int>{5, 4, 3, 2, 1, 15, 14, 13, 12, 11});
  // Crop first, then flip: out(y, x) = in(y, W - 1 - x + dx); dx = 2 -> x = 0, 1 read columns 6, 5
  // (padding), x = 2 reads column 4.
  p.dx = 2;
  CHECK(pixels_of(ops::augment(img.data(), {1, 1, H, W}, {p}, identity_norm(), DType::Float64)) ==
        std::vector<int>{0, 0, 5, 4, 3, 0, 0, 15, 14, 13});

  // About half the draws flip; none without flip.
  int flips = 0;
  for (int64_t i = 0; i < 2000; ++i) flips += draw_augment_param(AugmentOptions(), 32, 32, 3, 1, i).flip;
  CHECK(flips > 900);
  CHECK(flips < 1100);
  for (int64_t i = 0; i < 100; ++i) CHECK(draw_augment_param(AugmentOptions().flip(false), 32, 32, 3, 1, i).flip == 0);
}

TEST_CASE("cutout zeroes exactly a size x size area clipped at the border", "[augment]") {
  const int H = 10, W = 10;
  const std::vector<uint8_t> img(H * W, 255);  // normalizes to 1.0 with the identity
  auto zeros_at = [&](int cy, int cx, int64_t size) {
    AugmentParam p;
    p.hole_y = cy, p.hole_x = cx;
    const auto v = values(ops::augment(img.data(), {1, 1, H, W}, {p}, identity_norm(true, size), DType::Float64));
    std::vector<int> z;
    for (int i = 0; i < H * W; ++i) {
      if (v[i] == 0.0) z.push_back(i);
      else CHECK(v[i] == 1.0);
    }
    return z;
  };
  // Centre (5, 5), size 4: rows and columns [5 - 2, 5 + 2) = [3, 7): 16 pixels.
  std::vector<int> expect;
  for (int y = 3; y < 7; ++y)
    for (int x = 3; x < 7; ++x) expect.push_back(y * W + x);
  CHECK(zeros_at(5, 5, 4) == expect);
  // Centre (0, 1), size 4: rows [-2, 2) -> [0, 2), columns [-1, 3) -> [0, 3): 6 pixels.
  CHECK(zeros_at(0, 1, 4) == std::vector<int>{0, 1, 2, 10, 11, 12});
  // Centre (9, 9), size 3: [9 - 1, 9 + 2) -> [8, 10): 2 x 2 pixels.
  CHECK(zeros_at(9, 9, 3) == std::vector<int>{88, 89, 98, 99});
  // Size 0 or cutout off: no hole.
  CHECK(zeros_at(5, 5, 0).empty());

  // The hole is 0 AFTER normalization (the mean colour), while padding is -mean/std.
  const std::vector<uint8_t> rgb(3 * H * W, 200);
  AugmentParam p;
  p.hole_y = 5, p.hole_x = 5;
  const auto v = values(ops::augment(rgb.data(), {1, 3, H, W}, {p}, AugmentOptions(), DType::Float32));
  CHECK(v[5 * W + 5] == 0.0);
  CHECK(v[2 * H * W + 3 * W + 3] == 0.0);        // blue plane, corner of the hole
  CHECK(v[0] == Approx((200 / 255.0 - 0.4914) / 0.2470));  // outside the hole: normalized

  // Drawn centres lie inside the image (the hole is then clipped).
  for (int64_t i = 0; i < 500; ++i) {
    const AugmentParam d = draw_augment_param(AugmentOptions(), 7, 9, 11, 2, i);
    CHECK((d.hole_y >= 0 && d.hole_y < 7 && d.hole_x >= 0 && d.hole_x < 9));
  }
}

TEST_CASE("normalize uses the CIFAR-10 mean and std", "[augment]") {
  // One 1x2 image: R = [255, 0], G = [0, 255], B = [128, 64].
  const std::vector<uint8_t> img = {255, 0, 0, 255, 128, 64};
  const auto v = values(ops::augment(img.data(), {1, 3, 1, 2}, {AugmentParam{}}, AugmentOptions::normalize_only(),
                                     DType::Float64));
  REQUIRE(v.size() == 6);
  CHECK(v[0] == Approx(2.0591093117408903).epsilon(1e-12));   // (1 - 0.4914) / 0.2470
  CHECK(v[1] == Approx(-1.9894736842105263).epsilon(1e-12));  // (0 - 0.4914) / 0.2470
  CHECK(v[2] == Approx(-1.980287474332649).epsilon(1e-12));   // (0 - 0.4822) / 0.2435
  CHECK(v[3] == Approx((1 - 0.4822) / 0.2435).epsilon(1e-12));  // 2.1264887...
  CHECK(v[4] == Approx(0.21200605624512797).epsilon(1e-12));  // (128/255 - 0.4465) / 0.2616
  CHECK(v[5] == Approx((64 / 255.0 - 0.4465) / 0.2616).epsilon(1e-12));
  CHECK(kCifar10Mean == std::vector<double>{0.4914, 0.4822, 0.4465});
  CHECK(kCifar10Std == std::vector<double>{0.2470, 0.2435, 0.2616});

  // The crop's zero padding is a zero pixel before normalization: -mean / std afterwards.
  AugmentParam p;
  p.dy = 1;  // the single row comes from row 1: padding
  const auto pad = values(ops::augment(img.data(), {1, 3, 1, 2}, {p}, AugmentOptions::normalize_only(),
                                       DType::Float32));
  CHECK(pad[0] == Approx(-0.4914 / 0.2470));
  CHECK(pad[5] == Approx(-0.4465 / 0.2616));
}

TEST_CASE("augment is reproducible from the seed", "[augment]") {
  const AugmentOptions opt;
  const std::vector<int64_t> idx = {3, 7, 9, 1000};
  auto same = [](const AugmentParam& a, const AugmentParam& b) {
    return a.dy == b.dy && a.dx == b.dx && a.flip == b.flip && a.hole_y == b.hole_y && a.hole_x == b.hole_x;
  };
  auto all_same = [&](const std::vector<AugmentParam>& a, const std::vector<AugmentParam>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), same);
  };
  const auto a = draw_augment_params(opt, 32, 32, 42, 5, idx);
  CHECK(all_same(a, draw_augment_params(opt, 32, 32, 42, 5, idx)));
  // A sample's parameters do not depend on its batch.
  CHECK(same(a[1], draw_augment_param(opt, 32, 32, 42, 5, 7)));
  // Another epoch or another seed: other parameters (for 200 samples, some must differ).
  std::vector<int64_t> many(200);
  for (int64_t i = 0; i < 200; ++i) many[i] = i;
  const auto base = draw_augment_params(opt, 32, 32, 42, 5, many);
  CHECK_FALSE(all_same(base, draw_augment_params(opt, 32, 32, 42, 6, many)));
  CHECK_FALSE(all_same(base, draw_augment_params(opt, 32, 32, 43, 5, many)));
  // Turning cutout off changes nothing else.
  const auto no_cut = draw_augment_params(AugmentOptions(opt).cutout(false), 32, 32, 42, 5, many);
  for (size_t i = 0; i < many.size(); ++i)
    CHECK((no_cut[i].dy == base[i].dy && no_cut[i].dx == base[i].dx && no_cut[i].flip == base[i].flip));

  // The same parameters give bit-identical batches.
  Generator gen(9);
  const auto noise = values(rand({4 * 3072}, DType::Float64, &gen, 0, 256));
  std::vector<uint8_t> img(noise.size());
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(noise[i]);
  const Tensor x1 = ops::augment(img.data(), {4, 3, 32, 32}, a, opt);
  const Tensor x2 = ops::augment(img.data(), {4, 3, 32, 32}, draw_augment_params(opt, 32, 32, 42, 5, idx), opt);
  CHECK(values(x1) == values(x2));
  CHECK(x1.dtype() == DType::Float32);
  CHECK(x1.shape() == Shape{4, 3, 32, 32});
}

TEST_CASE("augment checks its inputs", "[augment][errors]") {
  const std::vector<uint8_t> img(2 * 3 * 4 * 4, 0);
  const std::vector<AugmentParam> two(2);
  CHECK_THROWS_WITH(ops::augment(img.data(), {2, 3, 4, 4}, std::vector<AugmentParam>(1), AugmentOptions()),
                    Catch::Contains("[2, 3, 4, 4]") && Catch::Contains("got 1"));
  CHECK_THROWS_WITH(ops::augment(img.data(), {2, 3, 16}, two, AugmentOptions()), Catch::Contains("[2, 3, 16]"));
  CHECK_THROWS_WITH(ops::augment(img.data(), {2, 3, 4, 4}, two, AugmentOptions().normalize({0.5}, {0.5})),
                    Catch::Contains("mean and std") && Catch::Contains("got 1 and 1"));
  CHECK_THROWS_WITH(ops::augment(img.data(), {2, 3, 4, 4}, two, AugmentOptions().normalize({0, 0, 0}, {1, 0, 1})),
                    Catch::Contains("std must be positive"));
  CHECK_THROWS_WITH(ops::augment(img.data(), {2, 3, 4, 4}, two, AugmentOptions(), DType::Int64),
                    Catch::Contains("int64"));
  CHECK_THROWS_WITH(draw_augment_param(AugmentOptions().pad(-1), 32, 32, 0, 0, 0), Catch::Contains("-1"));
}

TEST_CASE("augment cuda parity", "[cuda][augment]") {
  // 37 images (37 * 3072 elements: not a multiple of the block size), every augmentation on.
  const int64_t n = 37;
  Generator gen(5);
  const auto noise = values(rand({n * 3072}, DType::Float64, &gen, 0, 256));
  std::vector<uint8_t> img(noise.size());
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<uint8_t>(noise[i]);
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) idx[i] = 5 * i;
  for (PadFill fill : {PadFill::Zero, PadFill::Mean})
  for (DType dt : {DType::Float32, DType::Float64}) {
    INFO("pad fill " << pad_fill_name(fill));
    const AugmentOptions opt = AugmentOptions().cutout_size(9).pad_fill(fill);  // an odd hole too
    const auto params = draw_augment_params(opt, 32, 32, 1, 2, idx);
    const Tensor c = ops::augment(img.data(), {n, 3, 32, 32}, params, opt, dt);
    const Tensor g = ops::augment(img.data(), {n, 3, 32, 32}, params, opt, TensorOptions(dt).device(Device::cuda()));
    REQUIRE(g.is_cuda());
    const auto vc = values(c), vg = values(g);
    double worst = 0;
    for (size_t i = 0; i < vc.size(); ++i) worst = std::max(worst, std::abs(vc[i] - vg[i]));
    CHECK(worst <= 1e-6);  // expected: 0 (same rounding on both)
  }
}

// Dropout: scaling and statistics, determinism under a seed, eval mode, channel dropout,
// gradchecks, errors, and CPU/CUDA mask equality and parity.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/philox.h"
#include "core/random.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// Number of positions where a and b differ (0 when equal; a short message when not).
int64_t mismatches(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) bad += a[i] != b[i];
  return bad;
}

}  // namespace

TEST_CASE("dropout scaling", "[dropout]") {
  Generator gx(1);
  const Tensor x = rand({64, 1000}, DType::Float64, &gx, 1.0, 2.0);  // nonzero, so 0 means dropped
  const std::vector<double> xv = values(x);
  for (double p : {0.05, 0.3, 0.5}) {
    INFO("p = " << p);
    Generator g(123);
    const std::vector<double> yv = values(ops::dropout(x, p, true, &g));
    // Survivors are x * (1 / (1 - p)) exactly as computed (PyTorch also multiplies by the rounded
    // 1 / (1 - p)), which is x / (1 - p) to within an ulp.
    const double scale = 1.0 / (1.0 - p);
    int64_t dropped = 0, wrong = 0;
    for (size_t i = 0; i < xv.size(); ++i) {
      if (yv[i] == 0) ++dropped;
      else wrong += yv[i] != xv[i] * scale || std::abs(yv[i] - xv[i] / (1.0 - p)) > 1e-15 * yv[i];
    }
    CHECK(wrong == 0);
    // The dropped count is Binomial(n, p): its fraction lies within 5 standard deviations
    // sqrt(p (1 - p) / n) of p except with probability < 1e-6 (and the seed is fixed).
    const double n = static_cast<double>(xv.size()), frac = static_cast<double>(dropped) / n;
    CHECK(std::abs(frac - p) <= 5.0 * std::sqrt(p * (1.0 - p) / n));
  }
  // float32: survivors are x * float(1 / (1 - p)).
  Generator g32(5);
  const Tensor x32 = x.to(DType::Float32);
  const std::vector<float> y32 = ops::dropout(x32, 0.1, true, &g32).to_vector<float>(), x32v = x32.to_vector<float>();
  const float scale32 = static_cast<float>(1.0 / 0.9);
  int64_t wrong32 = 0;
  for (size_t i = 0; i < y32.size(); ++i) wrong32 += y32[i] != 0 && y32[i] != x32v[i] * scale32;
  CHECK(wrong32 == 0);
  // p = 1 drops everything (no infinite scale anywhere).
  Generator g1(9);
  CHECK(values(ops::dropout(x, 1.0, true, &g1)) == std::vector<double>(xv.size(), 0.0));
}

TEST_CASE("dropout determinism under a seed", "[dropout]") {
  const Tensor x = ones({5, 7, 9});  // 315 elements: not a multiple of 4
  const float p = 0.5f;
  Generator a(7), b(7);
  const std::vector<double> ya = values(ops::dropout(x, p, true, &a)), yb = values(ops::dropout(x, p, true, &b));
  CHECK(mismatches(ya, yb) == 0);  // same seed, same offset: same mask
  CHECK(a.offset() == 79);         // ceil(315 / 4) Philox counters were reserved
  // The mask is exactly philox_uniform(seed, offset, i) >= p.
  int64_t wrong = 0;
  for (size_t i = 0; i < ya.size(); ++i) wrong += (ya[i] != 0) != (philox_uniform(7, 0, i) >= p);
  CHECK(wrong == 0);
  // The next call uses the next offset: a different mask (about half the elements differ).
  const std::vector<double> ya2 = values(ops::dropout(x, p, true, &a));
  CHECK(mismatches(ya, ya2) > 50);
  // Replaying the generator state reproduces it; a different seed gives a different mask.
  Generator c;
  c.set_state(7, 79);
  CHECK(mismatches(values(ops::dropout(x, p, true, &c)), ya2) == 0);
  Generator d(8);
  CHECK(mismatches(values(ops::dropout(x, p, true, &d)), ya) > 50);
  // The default generator: manual_seed makes it reproducible.
  manual_seed(5);
  const std::vector<double> y1 = values(ops::dropout(x, p, true));
  manual_seed(5);
  CHECK(mismatches(values(ops::dropout(x, p, true)), y1) == 0);
}

TEST_CASE("dropout eval is identity", "[dropout]") {
  Tensor x = rand_leaf({3, 5, 7}, 1);
  Generator g(3);
  for (Tensor y : {ops::dropout(x, 0.5, false, &g), ops::dropout(x, 0.0, true, &g), ops::dropout2d(x, 0.5, false, &g)}) {
    CHECK(values(y) == values(x));
    CHECK(y.requires_grad());  // still differentiable
  }
  CHECK(g.offset() == 0);  // no random numbers were drawn
  Tensor y = ops::dropout(x, 0.5, false, &g);
  ops::sum(ops::mul(y, y)).backward();  // d/dx sum(x^2) = 2x
  CHECK_CLOSE(x.grad(), ops::affine(x.detach(), 2.0, 0.0), 1e-15, 1e-15);
}

TEST_CASE("dropout2d drops whole channels", "[dropout]") {
  Generator gx(2);
  const int64_t N = 6, C = 10, HW = 15;
  const Tensor x = rand({N, C, 5, 3}, DType::Float64, &gx, 1.0, 2.0);
  const float p = 0.4f;
  Generator g(11);
  const std::vector<double> xv = values(x), yv = values(ops::dropout2d(x, p, true, &g));
  CHECK(g.offset() == 15);  // one draw per channel: ceil(60 / 4) counters
  int64_t dropped = 0, wrong = 0;
  const double scale = 1.0 / (1.0 - static_cast<double>(p));
  for (int64_t k = 0; k < N * C; ++k) {
    const bool keep = philox_uniform(11, 0, static_cast<uint64_t>(k)) >= p;  // draw index n * C + c
    dropped += !keep;
    for (int64_t i = k * HW; i < (k + 1) * HW; ++i) wrong += yv[i] != (keep ? xv[i] * scale : 0.0);
  }
  CHECK(wrong == 0);
  // Binomial(60, 0.4): mean 24, standard deviation 3.8; 5 of them.
  CHECK(std::abs(static_cast<double>(dropped) - 24.0) <= 5 * std::sqrt(60 * 0.4 * 0.6));
  CHECK(dropped > 0);
  // Any [N, C, *] input: here [N, C, L].
  Generator g3(11);
  CHECK(mismatches(values(ops::dropout2d(x.view({N, C, HW}), p, true, &g3)), yv) == 0);
}

TEST_CASE("dropout gradcheck", "[dropout][gradcheck]") {
  // gradcheck re-seeds default_generator() before every evaluation, so each sees the same mask.
  for (double p : {0.3, 1.0}) {
    INFO("p = " << p);
    CHECK_GRADCHECK(gradcheck([p](const auto& in) { return ops::dropout(in[0], p, true); }, {rand_leaf({3, 5, 7}, 2)}));
  }
}

TEST_CASE("dropout2d gradcheck", "[dropout][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::dropout2d(in[0], 0.4, true); }, {rand_leaf({3, 6, 5, 7}, 3)}));
}

TEST_CASE("dropout errors", "[dropout][errors]") {
  const Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH(ops::dropout(x, 1.5, true), Catch::Contains("1.5") && Catch::Contains("[0, 1]") &&
                                                    Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(ops::dropout(x, 1.5, false), Catch::Contains("1.5"));  // also in eval
  CHECK_THROWS_WITH(ops::dropout2d(x, -0.1, true), Catch::Contains("-0.1"));
  CHECK_THROWS_WITH(ops::dropout2d(zeros({5}), 0.5, true), Catch::Contains("[5]"));
  CHECK_THROWS_WITH(ops::dropout(labels({1, 2}), 0.5, true), Catch::Contains("int64"));
}

TEST_CASE("dropout mask equality cpu vs cuda", "[cuda][dropout]") {
  // Odd sizes (3003 elements: not a multiple of 4 or of a block), a non-zero starting offset,
  // both dtypes: the CUDA output must equal the CPU's bit for bit.
  for (DType dt : {DType::Float32, DType::Float64}) {
    Generator gx(4);
    const Tensor x = rand({3, 7, 11, 13}, dt, &gx, 1.0, 2.0);
    for (double p : {0.1, 0.5}) {
      INFO(dtype_name(dt) << " p = " << p);
      Generator gc(77), gg(77);
      gc.advance(5), gg.advance(5);
      CHECK(mismatches(values(ops::dropout(x.to(Device::cuda()), p, true, &gg)), values(ops::dropout(x, p, true, &gc))) == 0);
      CHECK(mismatches(values(ops::dropout2d(x.to(Device::cuda()), p, true, &gg)),
                       values(ops::dropout2d(x, p, true, &gc))) == 0);
      CHECK(gc.offset() == gg.offset());
    }
  }
}

TEST_CASE("dropout cuda parity", "[cuda][dropout]") {
  const Tensor x = rand({3, 7, 11, 13}, {}, nullptr, -1, 1);
  Generator gr(99);
  const Tensor r = randn(x.shape(), {}, &gr);
  for (bool channelwise : {false, true}) {
    INFO((channelwise ? "dropout2d" : "dropout"));
    Generator gc(21), gg(21);
    Tensor xc = x.clone().requires_grad_(), xg = x.to(Device::cuda()).requires_grad_();
    Tensor yc = channelwise ? ops::dropout2d(xc, 0.3, true, &gc) : ops::dropout(xc, 0.3, true, &gc);
    Tensor yg = channelwise ? ops::dropout2d(xg, 0.3, true, &gg) : ops::dropout(xg, 0.3, true, &gg);
    // Bit-identical (the same mask times the same scale); a relative check with atol 0 would
    // divide 0 by 0 at every dropped element.
    CHECK(mismatches(values(yg.to(Device::cpu())), values(yc)) == 0);
    ops::sum(ops::mul(yc, r)).backward();
    ops::sum(ops::mul(yg, r.to(Device::cuda()))).backward();
    CHECK_CLOSE(xg.grad().to(Device::cpu()), xc.grad(), 1e-4, 1e-6);
  }
}

TEST_CASE("the tuned dropout engine matches the reference bit for bit", "[dropout][engine]") {
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& shape : {Shape{3, 5, 7, 3}, Shape{64, 16, 4, 4}, Shape{1, 1, 1, 129}}) {
      INFO(shape << " " << dt);
      Generator gx(4);
      const Tensor x = rand(shape, dt, &gx, -1, 1);
      for (bool channels : {false, true}) {
        auto run = [&](Engine e) {
          const EngineGuard use(dropout_engine(), e);
          Generator g(9);
          return values(channels ? ops::dropout2d(x, 0.3, true, &g) : ops::dropout(x, 0.3, true, &g));
        };
        CHECK(mismatches(run(Engine::Cpu), run(Engine::Ref)) == 0);
      }
    }
}

// Threading decisions (core/parallel.h): parallel_pays follows the region cost, and the kernels
// that let it decide give the same bits whether they split their loop across threads or not.
#include <catch2/catch.hpp>

#include <omp.h>

#include <functional>

#include "core/autograd.h"
#include "core/parallel.h"
#include "core/random.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/norm.h"
#include "kernels/pool.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {

// Puts the region cost back to a fresh measurement, and the thread count back to what it was,
// when a test ends, however it ends.
struct RestoreCost {
  int threads = get_num_threads();
  ~RestoreCost() {
    set_num_threads(threads);
    set_parallel_region_cost_us(-1);
  }
};

// Runs f (forward, then backward with a fixed upstream gradient) with loops forced onto the
// threads, then forced onto one thread; returns both outputs and input gradients.
struct Run {
  std::vector<double> y, dx;
};
Run run(const std::function<Tensor(const Tensor&)>& f, const Shape& shape, double cost_us) {
  set_parallel_region_cost_us(cost_us);
  Tensor x = rand_leaf(shape, 7);
  x = x.to(DType::Float32).detach();
  x.requires_grad_();
  Tensor y = f(x);
  manual_seed(3);
  y.backward(randn(y.shape()));
  return {values(y), values(x.grad())};
}

}  // namespace

TEST_CASE("parallel_pays follows the region cost", "[parallel]") {
  RestoreCost restore;
  if (get_num_threads() < 2) {
    set_parallel_region_cost_us(0);
    CHECK_FALSE(parallel_pays(1e9));  // one thread: nothing to split across
    return;
  }
  set_parallel_region_cost_us(45);  // sleeping threads
  CHECK(parallel_region_cost_us() == 45);
  const double saved = 1.0 - 1.0 / get_num_threads();
  CHECK_FALSE(parallel_pays(45 / saved * 0.99));
  CHECK(parallel_pays(45 / saved * 1.01));
  set_parallel_region_cost_us(0);  // spinning threads: still never under the 2 us floor
  CHECK_FALSE(parallel_pays(2 / saved * 0.99));
  CHECK(parallel_pays(2 / saved * 1.01));
  set_parallel_region_cost_us(-1);  // measured: a positive time
  CHECK(parallel_region_cost_us() > 0);
}

TEST_CASE("kernels that parallel_pays decides give the same bits split or not", "[parallel]") {
  RestoreCost restore;
  set_num_threads(2);  // at least two threads, so "split" really splits
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
    Shape shape;
  };
  const Generator gen0(11);
  const std::vector<Case> cases = {
      {"relu", [](const Tensor& x) { return ops::relu(x); }, {32, 5, 33, 31}},
      {"add", [](const Tensor& x) { return ops::add(x, ops::relu(x)); }, {32, 5, 33, 31}},
      {"affine", [](const Tensor& x) { return ops::affine(x, 0.5, -1.0); }, {32, 5, 33, 31}},
      {"dropout", [gen0](const Tensor& x) { Generator g = gen0; return ops::dropout(x, 0.3, true, &g); },
       {32, 5, 33, 31}},
      {"dropout2d", [gen0](const Tensor& x) { Generator g = gen0; return ops::dropout2d(x, 0.3, true, &g); },
       {32, 6, 33, 31}},
      {"max_pool2d", [](const Tensor& x) { return ops::max_pool2d(x, ops::Pool2dFuncOptions(3).stride(2).padding(1)); },
       {32, 5, 33, 31}},
      {"avg_pool2d", [](const Tensor& x) { return ops::avg_pool2d(x, ops::Pool2dFuncOptions(3).stride(2).padding(1)); },
       {32, 5, 33, 31}},
      {"adaptive_avg_pool2d", [](const Tensor& x) { return ops::adaptive_avg_pool2d(x, {5, 4}); }, {32, 5, 33, 31}},
      // the norms' cpu engines (float32); layer_norm's backward keeps a fixed threshold
      {"batch_norm", [](const Tensor& x) { return ops::batch_norm(x, {}, {}, {}, {}, true); }, {32, 5, 33, 31}},
      {"group_norm", [](const Tensor& x) { return ops::group_norm(x, 5); }, {32, 5, 33, 31}},
      {"layer_norm", [](const Tensor& x) { return ops::layer_norm(x, {5, 33, 31}); }, {32, 5, 33, 31}},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const Run split = run(c.f, c.shape, 0);       // every loop above 2 us of work splits
      const Run whole = run(c.f, c.shape, 1e12);    // no loop splits
      CHECK(split.y == whole.y);
      CHECK(split.dx == whole.dx);
    }
  }
}

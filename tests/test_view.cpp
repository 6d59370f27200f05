// reshape / flatten.
#include <catch2/catch.hpp>

#include "kernels/view.h"
#include "gradcheck.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("reshape and flatten shapes and shared data", "[view]") {
  const Tensor x = f64({0, 1, 2, 3, 4, 5}, {1, 2, 3});
  CHECK(ops::reshape(x, {3, -1}).shape() == Shape{3, 2});
  CHECK(ops::flatten(x).shape() == Shape{1, 6});
  CHECK(ops::flatten(x, 0).shape() == Shape{6});
  CHECK(ops::flatten(zeros({2, 3, 4, 5}), 1, 2).shape() == Shape{2, 12, 5});
  CHECK(values(ops::reshape(x, {6})) == values(x));
  CHECK(ops::reshape(x, {6}).raw_data() == x.raw_data());  // a view: no copy
}

TEST_CASE("reshape gradcheck", "[view][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::reshape(in[0], {5, -1}); }, {rand_leaf({3, 5, 7}, 1)}));
}

TEST_CASE("flatten gradcheck", "[view][gradcheck]") {
  CHECK_GRADCHECK(gradcheck([](const auto& in) { return ops::flatten(in[0]); }, {rand_leaf({3, 2, 5, 7}, 1)}));
}

TEST_CASE("reshape errors name the shapes", "[view][errors]") {
  CHECK_THROWS_WITH(ops::reshape(zeros({2, 3}), {4, 2}), Catch::Contains("[2, 3]") && Catch::Contains("[4, 2]"));
  CHECK_THROWS_WITH(ops::reshape(zeros({2, 3}), {-1, -1}), Catch::Contains("-1"));
  CHECK_THROWS_WITH(ops::reshape(zeros({2, 3}), {4, -1}), Catch::Contains("[2, 3]"));
}

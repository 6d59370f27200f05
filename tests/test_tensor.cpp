// Tensor basics: factories, dtype/device conversion, views, printing, errors.
#include <catch2/catch.hpp>

#include "core/random.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("tensor factories", "[tensor]") {
  const Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.dtype() == DType::Float32);
  CHECK(z.device() == Device::cpu());
  CHECK(values(z) == std::vector<double>(6, 0.0));
  CHECK(values(ones({4}, DType::Float64)) == std::vector<double>(4, 1.0));
  CHECK(values(full({2}, 2.5)) == std::vector<double>{2.5, 2.5});
  CHECK(values(arange(4)) == std::vector<double>{0, 1, 2, 3});
  CHECK(tensor({1, 2, 3, 4, 5, 6}, {2, 3}).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(labels({3, 1}).to_vector<int64_t>() == std::vector<int64_t>{3, 1});
  CHECK(full({1}, 7.0).item() == 7.0);
}

TEST_CASE("random factories are seeded and have the right moments", "[tensor][random]") {
  Generator g1(42), g2(42), g3(43);
  const auto a = rand({1000}, {}, &g1).to_vector<double>(), b = rand({1000}, {}, &g2).to_vector<double>();
  CHECK(a == b);
  CHECK(a != rand({1000}, {}, &g3).to_vector<double>());
  for (double v : a) CHECK((v >= 0.0 && v < 1.0));
  const auto n = randn({20000}, DType::Float64, &g1).to_vector<double>();
  double mean = 0, var = 0;
  for (double v : n) mean += v / n.size();
  for (double v : n) var += (v - mean) * (v - mean) / n.size();
  CHECK(std::abs(mean) < 0.03);       // 3 standard errors = 3 / sqrt(20000) = 0.021
  CHECK(std::abs(var - 1.0) < 0.04);  // sd of the sample variance = sqrt(2 / 20000) = 0.01
  // Consecutive draws from one generator differ (the offset advances).
  CHECK(rand({8}, {}, &g1).to_vector<double>() != rand({8}, {}, &g1).to_vector<double>());
}

TEST_CASE("dtype conversion, clone, detach, view", "[tensor]") {
  Tensor a = tensor({1.5, -2.25, 3}, {3});
  Tensor d = a.to(DType::Float64);
  CHECK(d.dtype() == DType::Float64);
  CHECK(values(d) == std::vector<double>{1.5, -2.25, 3});
  CHECK(a.to(DType::Float32).is_same(a));  // no-op conversions return the same tensor
  Tensor c = a.clone();
  c.fill_(0);
  CHECK(values(a) == std::vector<double>{1.5, -2.25, 3});  // clone owns its data
  Tensor v = a.view({3, 1});
  v.fill_(1);
  CHECK(values(a) == std::vector<double>{1, 1, 1});  // a view shares it
  Tensor m = tensor({0, 1, 2, 3, 4, 5}, {3, 2});
  CHECK(values(m.slice_rows(1, 3)) == std::vector<double>{2, 3, 4, 5});
  Tensor dst = zeros({3});
  dst.copy_(tensor({4, 5, 6}, {3}, DType::Float64));
  CHECK(values(dst) == std::vector<double>{4, 5, 6});
}

TEST_CASE("tensor misuse raises minidl::Error naming the values", "[tensor][errors]") {
  const Tensor a = zeros({2, 3});
  CHECK_THROWS_WITH(a.data<double>(), Catch::Contains("float32") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(a.view({4, 2}), Catch::Contains("[2, 3]") && Catch::Contains("[4, 2]"));
  CHECK_THROWS_WITH(a.item(), Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(a.size(2), Catch::Contains("dimension 2") && Catch::Contains("[2, 3]"));
  CHECK_THROWS_WITH(tensor({1, 2, 3}, {2, 2}), Catch::Contains("3 values") && Catch::Contains("[2, 2]"));
  CHECK_THROWS_AS(Tensor().shape(), Error);
  CHECK_THROWS_WITH(labels({1}).requires_grad_(), Catch::Contains("int64"));
  CHECK_THROWS_WITH(Device::parse("gpu"), Catch::Contains("'gpu'"));
  CHECK_THROWS_WITH(Tensor(zeros({2})).copy_(zeros({3})), Catch::Contains("[3]") && Catch::Contains("[2]"));
}

TEST_CASE("printing a tensor shows values, shape and dtype", "[tensor]") {
  const std::string s = tensor({1, 2}, {1, 2}).str();
  CHECK(s.find("shape=[1, 2]") != std::string::npos);
  CHECK(s.find("float32") != std::string::npos);
  CHECK(s.find("1, 2") != std::string::npos);
}

TEST_CASE("tensor moves between cpu and cuda", "[cuda][tensor]") {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor g = a.to(Device::cuda());
  CHECK(g.is_cuda());
  CHECK(values(g) == values(a));
  CHECK(values(g.to(DType::Float64)) == values(a));
  Tensor z = zeros({5}, Device::cuda());
  z.fill_(2.5);
  CHECK(values(z) == std::vector<double>(5, 2.5));
  CHECK(values(g.to(Device::cpu()).to(Device::cuda()).to(Device::cpu())) == values(a));
}

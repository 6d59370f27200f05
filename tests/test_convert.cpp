// Tensor::to(DType) and fill_ into int64: one rule on every device (core/convert_element.h):
// truncation toward zero, NaN -> 0, out-of-range values and infinities saturate.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/convert_element.h"
#include "core/tensor.h"
#include "test_util.h"

using namespace minidl;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Special values and what int64 they convert to.
const std::vector<double> kInputs = {0.0,   -0.0,  2.9,   -2.9,   1e18,   -1e18, 9.3e18, -9.3e18,
                                     1e300, -1e300, kInf, -kInf, std::nan(""), 4611686018427387904.0,
                                     -9223372036854775808.0};
const std::vector<int64_t> kWant = {0,
                                    0,
                                    2,
                                    -2,
                                    1000000000000000000,
                                    -1000000000000000000,
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MAX,
                                    INT64_MIN,
                                    0,
                                    4611686018427387904,
                                    INT64_MIN};

}  // namespace

TEST_CASE("float to int64 conversion rule", "[tensor][convert]") {
  for (size_t i = 0; i < kInputs.size(); ++i) {
    INFO("input " << kInputs[i]);
    CHECK(convert_element<int64_t>(kInputs[i]) == kWant[i]);
  }
  // float: the largest float below 2^63 converts exactly; 2^63 itself saturates.
  CHECK(convert_element<int64_t>(9223371487098961920.0f) == 9223371487098961920);
  CHECK(convert_element<int64_t>(9223372036854775808.0f) == INT64_MAX);
  CHECK(convert_element<int64_t>(-9223372036854775808.0f) == INT64_MIN);
  CHECK(convert_element<int64_t>(std::nanf("")) == 0);
  CHECK(convert_element<int64_t>(-2.9f) == -2);
  CHECK(convert_element<float>(int64_t(3)) == 3.0f);  // every other conversion: static_cast
  // Tensors on the CPU, from float64 and float32, and fill_.
  const Tensor d = tensor(kInputs, {static_cast<int64_t>(kInputs.size())}, DType::Float64);
  CHECK(d.to(DType::Int64).to_vector<int64_t>() == kWant);
  CHECK(d.to(DType::Float32).to(DType::Int64).to_vector<int64_t>()[12] == 0);  // NaN survives float32
  Tensor l = zeros({3}, DType::Int64);
  l.fill_(kInf);
  CHECK(l.to_vector<int64_t>() == std::vector<int64_t>(3, INT64_MAX));
  l.fill_(std::nan(""));
  CHECK(l.to_vector<int64_t>() == std::vector<int64_t>(3, 0));
}

TEST_CASE("float to int64 conversion rule on cuda", "[cuda][tensor][convert]") {
  const Tensor d = tensor(kInputs, {static_cast<int64_t>(kInputs.size())}, DType::Float64);
  for (DType dt : {DType::Float64, DType::Float32}) {
    INFO(dtype_name(dt));
    const Tensor x = d.to(dt);
    CHECK(x.to(Device::cuda()).to(DType::Int64).to(Device::cpu()).to_vector<int64_t>() ==
          x.to(DType::Int64).to_vector<int64_t>());
  }
  Tensor l = zeros({3}, TensorOptions().dtype(DType::Int64).device(Device::cuda()));
  l.fill_(-kInf);
  CHECK(l.to_vector<int64_t>() == std::vector<int64_t>(3, INT64_MIN));
  l.fill_(std::nan(""));
  CHECK(l.to_vector<int64_t>() == std::vector<int64_t>(3, 0));
}

// Small helpers shared by the test files.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl::testing {

// Largest |a_i - b_i| / (atol + rtol * |b_i|) over all elements (<= 1 means "close").
double close_ratio(const Tensor& a, const Tensor& b, double rtol, double atol);
// A short description of the worst element for INFO().
std::string diff_report(const Tensor& a, const Tensor& b, double rtol, double atol);
// Values of a tensor as doubles, for CHECK against hand-computed numbers.
std::vector<double> values(const Tensor& t);
// float64 tensor from values
Tensor f64(const std::vector<double>& v, const Shape& s);
// Random float64 leaf of the given shape that requires grad (seeded by `seed`).
Tensor rand_leaf(const Shape& s, uint64_t seed, double low = -1.0, double high = 1.0);

}  // namespace minidl::testing

// CHECK_CLOSE(a, b, rtol, atol): every element of tensor a is close to b.
#define CHECK_CLOSE(a, b, rtol, atol)                                   \
  do {                                                                  \
    INFO(::minidl::testing::diff_report((a), (b), (rtol), (atol)));     \
    CHECK(::minidl::testing::close_ratio((a), (b), (rtol), (atol)) <= 1.0); \
  } while (0)

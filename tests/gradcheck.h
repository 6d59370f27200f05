// gradcheck: compares the gradients autograd computes with central finite differences.
//
// The function is checked through a random projection L = sum_i r_i * f(x)_i with fixed random
// r, not through sum_i f(x)_i: for softmax and the normalizations the plain sum is constant
// (softmax rows sum to 1, normalized groups sum to 0), its gradient is zero whatever the
// backward computes, and the check would pass vacuously.
//
// For every input that requires grad and every element x_j:
//   numeric_j  = (L(x_j + eps) - L(x_j - eps)) / (2 eps)        in float64
//   analytic_j = dL/dx_j from one backward pass with grad_output = r
//   pass when |analytic_j - numeric_j| <= atol + rtol * |numeric_j|
// The default generator is re-seeded before every evaluation of f, so ops that draw random
// numbers (dropout) see the same mask each time. The report names the worst element.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl::testing {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-4;
  uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  int64_t checked = 0;      // number of elements compared
  double worst_ratio = 0;   // max |a - n| / (atol + rtol |n|); <= 1 passes
  std::string report;       // the worst element, e.g. "input 1 (shape [6, 3, 3, 3]) element 17 ..."
};

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// inputs must be float64; those with requires_grad() are checked (on any device).
GradcheckResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace minidl::testing

// In a Catch2 test: CHECK_GRADCHECK(gradcheck(f, inputs));
#define CHECK_GRADCHECK(expr)      \
  do {                             \
    const auto gc_ = (expr);       \
    INFO(gc_.report);              \
    CHECK(gc_.ok);                 \
    CHECK(gc_.checked > 0);        \
  } while (0)

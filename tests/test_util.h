// Small helpers shared by the test files.
#pragma once
#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/engine.h"

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

// Runs body(e) once for every CPU engine e of `choice`, with e active (and named in the report).
template <class Body>
void for_each_cpu_engine(EngineChoice& choice, Body&& body) {
  for (Engine e : choice.engines(DeviceType::CPU)) {
    INFO(choice.family() << " engine " << engine_name(e));
    const EngineGuard use(choice, e);
    body(e);
  }
}

// An op as the engine tests call it: inputs -> output.
using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// What one engine computes: the output and the gradient of every input in `grad` (of
// sum(r * f(x)) for a seeded random r), all copied to the CPU.
struct EngineResult {
  Tensor y;
  std::vector<Tensor> grads;  // undefined where no gradient was asked for
};
// f on copies of `inputs` on e's device with e active in `choice` (restored afterwards).
EngineResult run_engine(EngineChoice& choice, Engine e, const OpFn& f, const std::vector<Tensor>& inputs,
                        const std::vector<bool>& grad, uint64_t seed = 7);
// Compares `engine` with the reference (Engine::Ref) on f, forward and every gradient in `grad`:
// rtol, plus an absolute slack of atol_scale times the largest reference value (sums that cancel
// to ~0 keep rounding errors of that order; the engines sum in different orders).
void check_against_ref(EngineChoice& choice, Engine engine, const OpFn& f, const std::vector<Tensor>& inputs,
                       const std::vector<bool>& grad, double rtol, double atol_scale);

}  // namespace minidl::testing

// CHECK_CLOSE(a, b, rtol, atol): every element of tensor a is close to b.
#define CHECK_CLOSE(a, b, rtol, atol)                                   \
  do {                                                                  \
    INFO(::minidl::testing::diff_report((a), (b), (rtol), (atol)));     \
    CHECK(::minidl::testing::close_ratio((a), (b), (rtol), (atol)) <= 1.0); \
  } while (0)

// Seeded random numbers: a Generator is (seed, offset) over the Philox counter-based RNG
// (core/philox.h). Each call that draws n numbers takes the next ceil(n/4) counters, so a run
// is reproducible from its seed and CPU and CUDA draw the same numbers.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t seed) { seed_ = seed, offset_ = 0; }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }
  // Reserves counters for n random numbers; returns the offset the caller must use.
  uint64_t advance(uint64_t n) {
    const uint64_t start = offset_;
    offset_ += (n + 3) / 4;
    return start;
  }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

// The process-wide generator used when an op is not given one (not thread-safe: give each
// worker thread its own Generator).
Generator& default_generator();
void manual_seed(uint64_t seed);

// Uniform in [low, high) and standard normal (Box-Muller), drawn on the CPU and copied to the
// requested device. gen defaults to default_generator().
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr,
            double low = 0.0, double high = 1.0);
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);

}  // namespace minidl

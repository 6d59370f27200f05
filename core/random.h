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

// A Philox key for one (seed, epoch, stream) triple: splitmix64's finalizer applied twice, so
// nearby seeds and epochs give unrelated streams, and each user (shuffling, augmentation) picks
// its own stream constant so their numbers never coincide.
inline uint64_t stream_key(uint64_t seed, uint64_t epoch, uint64_t stream) {
  auto mix64 = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  return mix64(seed ^ mix64(epoch ^ stream));
}
void manual_seed(uint64_t seed);

// Uniform in [low, high) and standard normal (Box-Muller), drawn on the CPU and copied to the
// requested device. gen defaults to default_generator().
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr,
            double low = 0.0, double high = 1.0);
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* gen = nullptr);

}  // namespace minidl

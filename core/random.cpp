#include "core/random.h"

#include <cmath>
#include <vector>

#include "core/philox.h"

namespace minidl {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {
// Uniform (0, 1] with 53 random bits from two consecutive 32-bit words.
double uniform53(uint64_t seed, uint64_t offset, uint64_t i) {
  const uint64_t a = philox_bits(seed, offset, 2 * i) >> 5;      // 27 bits
  const uint64_t b = philox_bits(seed, offset, 2 * i + 1) >> 6;  // 26 bits
  return (static_cast<double>((a << 26) | b) + 1.0) / 9007199254740992.0;
}
}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, Generator* gen, double low, double high) {
  Generator& g = gen ? *gen : default_generator();
  const int64_t n = shape.numel();
  const uint64_t off = g.advance(2 * static_cast<uint64_t>(n));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = low + (high - low) * (1.0 - uniform53(g.seed(), off, i));
  return tensor(v, shape, options);
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* gen) {
  Generator& g = gen ? *gen : default_generator();
  const int64_t n = shape.numel();
  const int64_t pairs = (n + 1) / 2;
  const uint64_t off = g.advance(4 * static_cast<uint64_t>(pairs));
  std::vector<double> v(static_cast<size_t>(2 * pairs));
  const double two_pi = 6.283185307179586;
  for (int64_t i = 0; i < pairs; ++i) {  // Box-Muller: two normals from two uniforms
    const double u1 = uniform53(g.seed(), off, 2 * i), u2 = uniform53(g.seed(), off, 2 * i + 1);
    const double r = std::sqrt(-2.0 * std::log(u1));
    v[2 * i] = r * std::cos(two_pi * u2);
    v[2 * i + 1] = r * std::sin(two_pi * u2);
  }
  v.resize(static_cast<size_t>(n));
  return tensor(v, shape, options);
}

}  // namespace minidl

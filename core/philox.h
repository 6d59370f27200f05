// Philox4x32-10: a counter-based random number generator (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC'11). The output is a pure function of (key, counter), so the
// CPU and every CUDA thread compute the same random number for the same element independently:
// dropout masks are identical on both devices and reproducible from the seed.
//
// minidl's convention: key = the generator's seed; counter = (offset + element_index / 4);
// the element uses word element_index % 4 of the 128-bit output. A call that needs n numbers
// advances the generator's offset by ceil(n / 4), so calls never reuse numbers.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define MINIDL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MINIDL_HOST_DEVICE inline
#endif

namespace minidl {

struct Philox4 {
  uint32_t v[4];
};

MINIDL_HOST_DEVICE Philox4 philox4x32_10(uint64_t key, uint64_t counter) {
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;  // golden-ratio key schedule
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The 32 random bits for element `index` of a call that started at `offset`.
MINIDL_HOST_DEVICE uint32_t philox_bits(uint64_t seed, uint64_t offset, uint64_t index) {
  return philox4x32_10(seed, offset + index / 4).v[index % 4];
}

// Uniform in [0, 1) with 24 random bits: exactly representable in float, so CPU and GPU agree.
MINIDL_HOST_DEVICE float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  return static_cast<float>(philox_bits(seed, offset, index) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace minidl

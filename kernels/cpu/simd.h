// The SIMD helpers of the tuned CPU engines (kernels/cpu/), in one place:
//   Vec<T>         a few vector operations (load, store, broadcast, fma, masked lanes, horizontal
//                  sum) on AVX2 + FMA registers, or on plain 4-lane arrays where those are missing;
//                  the register tiles of cpu/conv.cpp are written with it.
//   exp_nonpos(x)  exp(x) for x <= 0, branch-free so loops calling it vectorize (std::exp is a
//                  scalar libm call); cpu/softmax.cpp and cpu/loss.cpp use it.
// The references (kernels/ref/) use none of this: they are plain loops and std::exp.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace minidl::cpu {

template <class T>
struct Vec;
#if defined(__AVX2__) && defined(__FMA__)
template <>
struct Vec<float> {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // v with the lanes from n on set to zero
  static V keep_first(V v, int64_t n) {
    const __m256i m =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_ps(v, _mm256_castsi256_ps(m));
  }
  static float sum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
};
template <>
struct Vec<double> {
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double v) { return _mm256_set1_pd(v); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V keep_first(V v, int64_t n) {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_and_pd(v, _mm256_castsi256_pd(m));
  }
  static double sum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};
#else
template <class T>
struct Vec {  // portable fallback: 4 lanes in a plain array
  static constexpr int kLanes = 4;
  struct V { T v[kLanes]; };
  static V zero() { return set1(T(0)); }
  static V set1(T x) { V r; for (T& e : r.v) e = x; return r; }
  static V load(const T* p) { V r; for (int i = 0; i < kLanes; ++i) r.v[i] = p[i]; return r; }
  static void store(T* p, V v) { for (int i = 0; i < kLanes; ++i) p[i] = v.v[i]; }
  static V fma(V a, V b, V c) { for (int i = 0; i < kLanes; ++i) c.v[i] += a.v[i] * b.v[i]; return c; }
  static V keep_first(V v, int64_t n) { for (int i = 0; i < kLanes; ++i) if (i >= n) v.v[i] = T(0); return v; }
  static T sum(V v) { T s = 0; for (T e : v.v) s += e; return s; }
};
#endif

// exp(x) for x <= 0, written so that GCC vectorizes a loop calling it (no branches, no libm
// call: std::exp is a scalar call and makes softmax ~10x slower). The tuned softmax and loss
// kernels call it; their exponents are always <= 0 (x - max, or log-probabilities).
// exp(x) = 2^n exp(r) with n = round(x / ln 2) and |r| <= ln(2) / 2; exp(r) by its Taylor series
// up to r^7 (truncation error < 2.5e-8 relative: below one float ulp). Results under 2^-126
// (x < ~-87.3), -inf included, flush to 0; NaN stays NaN (whatever its sign bit). Measured: < 1 ulp on [-87.3, 0].
inline float exp_nonpos(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: t = v + kRound leaves round(v) in t's low mantissa bits
  const float t = x * kLog2e + kRound;
  const float n = t - kRound;
  int32_t tbits;
  std::memcpy(&tbits, &t, sizeof tbits);
  const int32_t ni = tbits - 0x4B400000;  // round(x / ln 2) as an integer (the bits of kRound subtracted)
  // r = x - n ln 2 with ln 2 split in two so n * ln2_hi is exact (Cody-Waite reduction).
  const float r = (x - n * 0.693145751953125f) - n * 1.428606820309417e-06f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // Integer masks, not float compares: with -ftrapping-math (GCC's default) a float select
  // is a branch and the loop would not vectorize.
  const int32_t keep = ni >= -126 ? -1 : 0;
  const int32_t sbits = ((ni + 127) << 23) & keep;  // 2^n as a float's bits
  float scale;
  std::memcpy(&scale, &sbits, sizeof scale);
  float e = p * scale;
  int32_t ebits;
  std::memcpy(&ebits, &e, sizeof ebits);
  ebits &= keep;  // p * 0 is NaN when p is (x = -inf): force the flushed results to +0
  // t is NaN exactly when x is; a NaN of either sign stays NaN. (Masks, not `? :` between two
  // values: GCC does not vectorize the loop with that select.)
  const int32_t nan_mask = (tbits & 0x7FFFFFFF) > 0x7F800000 ? -1 : 0;
  ebits = (ebits & ~nan_mask) | (tbits & nan_mask);
  std::memcpy(&e, &ebits, sizeof e);
  return e;
}
// float64: exactness over speed.
inline double exp_nonpos(double x) { return std::exp(x); }

}  // namespace minidl::cpu

// Internal to the cpu conv engine (kernels/cpu/conv.cpp): images in the vector lanes.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/conv_layout.h"
#include "kernels/cpu/conv_path.h"
#include "kernels/cpu/conv_tiles.h"

namespace minidl::cpu::conv_detail {

// ---- image lanes ----------------------------------------------------------------------------------
// On small maps the pixel grids above leave lanes empty: a 5 x 5 output padded to 7 wide fills 25 of
// the 40 lanes of its flat grid, a 12-wide one 144 of 176. At stride 1 the images can go into the
// lanes instead: a group of kL images is copied pixel by pixel, element (c, i, j) of image b at
// ((c Hi + i) Wi + j) kL + b (padded as before), so one vector is one pixel of kL images, tap (r, s)
// of output (p, q) is the vector at (p + r) Wi + q + s, and every lane is valid. The same tiles run
// on it (Slots::ImageLanes); outputs come out in the same layout and are copied back per image.
// The price is those two copies (the padded copy exists anyway) and lanes left empty when a thread's
// images are not a multiple of kL, so a cost model picks it per pass (conv_path.h: lanes_pay). The
// backward weight gains even on full grids: its tiles reduce over a chunk's pixels, and with lanes
// a chunk holds more pixels per horizontal sum, with no partial slots.
// MINIDL_CONV_LANES (auto | always | never; cpu::set_conv_lanes) overrides the model.
struct LaneLayout {
  int64_t Hi, Wi, P, Q, lanes;
  int64_t plane() const { return Hi * Wi * lanes; }  // channel stride of the copied input
  // tap t = r S + s of an R x S kernel -> its offset
  std::vector<int64_t> offsets(int64_t R, int64_t S) const {
    std::vector<int64_t> off(static_cast<size_t>(R * S));
    for (int64_t t = 0; t < R * S; ++t) off[t] = ((t / S) * Wi + t % S) * lanes;
    return off;
  }
};

// Moving a group of nb <= kL images (image b at src + b stride) into and out of the lanes. In float
// with AVX2 a full group moves by 8 x 8 transposes (a scalar copy cost about as much as a tenth of
// the convolution on 10x10 maps); the rest element by element.
#if defined(__AVX2__) && defined(__FMA__)
// *out[j] (8 floats) = column j of the 8 x 8 block whose row i is in + i ldi.
inline void transpose8x8(const float* in, int64_t ldi, float* const* out) {
  __m256 r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(in + i * ldi);
  for (int i = 0; i < 8; i += 2) t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 8; i += 4) {  // u[i + k]: columns k and k + 4 of rows i .. i + 3
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_ps(out[k], _mm256_permute2f128_ps(u[k], u[k + 4], 0x20));
    _mm256_storeu_ps(out[k + 4], _mm256_permute2f128_ps(u[k], u[k + 4], 0x31));
  }
}
constexpr bool kLaneTranspose = true;
#else
inline void transpose8x8(const float*, int64_t, float* const*) {}
constexpr bool kLaneTranspose = false;
#endif

// dst[pos[e] + b] = src[b stride + e] for e < n, b < nb (lanes b >= nb are not touched); pos null:
// pos[e] = e kL.
template <class T>
void to_lanes(const T* src, int64_t stride, int64_t nb, int64_t n, const int64_t* pos, T* dst) {
  constexpr int64_t kL = Vec<T>::kLanes;
  int64_t e = 0;
  if constexpr (std::is_same_v<T, float> && kLaneTranspose && kL == 8) {
    if (nb == kL)
      for (; e + kL <= n; e += kL) {
        float* out[8];
        for (int j = 0; j < 8; ++j) out[j] = dst + (pos ? pos[e + j] : (e + j) * kL);
        transpose8x8(src + e, stride, out);
      }
  }
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = e; i < n; ++i) dst[(pos ? pos[i] : i * kL) + b] = src[b * stride + i];
}

// dst[b stride + e] = src[e kL + b] for e < n, b < nb.
template <class T>
void from_lanes(const T* src, int64_t nb, int64_t n, T* dst, int64_t stride) {
  constexpr int64_t kL = Vec<T>::kLanes;
  int64_t e = 0;
  if constexpr (std::is_same_v<T, float> && kLaneTranspose && kL == 8) {
    if (nb == kL)
      for (; e + kL <= n; e += kL) {
        float* out[8];
        for (int j = 0; j < 8; ++j) out[j] = dst + j * stride + e;
        transpose8x8(src + e * kL, kL, out);
      }
  }
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t i = e; i < n; ++i) dst[b * stride + i] = src[i * kL + b];
}

// Where each element of an image's C planes of H x W lands in the padded lane layout (padded by
// (top, left); negative: cropped, and then -1 for the elements cropped away).
struct LaneCopy {
  std::vector<int64_t> pos;  // [H W] within one plane
  int64_t HW, cs;
  bool cropped = false;
  LaneCopy(int64_t H, int64_t W, int64_t top, int64_t left, const LaneLayout& L)
      : pos(static_cast<size_t>(H * W)), HW(H * W), cs(L.plane()) {
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const int64_t pi = i + top, pj = j + left;
        const bool inside = pi >= 0 && pi < L.Hi && pj >= 0 && pj < L.Wi;
        pos[i * W + j] = inside ? (pi * L.Wi + pj) * L.lanes : -1;
        cropped = cropped || !inside;
      }
  }
  // A group of nb images (image b at src + b stride, C planes) into dst (C planes of cs).
  template <class T>
  void copy(const T* src, int64_t stride, int64_t nb, int64_t C, T* dst) const {
    for (int64_t c = 0; c < C; ++c) {
      if (!cropped) {
        to_lanes(src + c * HW, stride, nb, HW, pos.data(), dst + c * cs);
        continue;
      }
      for (int64_t b = 0; b < nb; ++b)  // rare (a backward data with padding above R - 1): element by element
        for (int64_t e = 0; e < HW; ++e)
          if (pos[e] >= 0) dst[c * cs + pos[e] + b] = src[b * stride + c * HW + e];
    }
  }
};

// The stride-1 convolution of conv_direct_with (same arguments) on image lanes.
template <class Tiles, class T, class Get>
void conv_lanes_with(const T* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t R,
                     int64_t S, int64_t G, int64_t M, Get get, const T* bias, T* out, bool parallel) {
  constexpr int64_t kL = Vec<T>::kLanes;
  const int64_t Cg = C / G, Mg = M / G, RS = R * S, Hi = H + 2 * top, Wi = W + 2 * left;
  const LaneLayout L{Hi, Wi, Hi - R + 1, Wi - S + 1, kL};
  const int64_t PQ = L.P * L.Q, cs = L.plane(), in_group = C * cs, out_group = M * PQ * kL;
  const std::vector<int64_t> off = L.offsets(R, S);
  const LaneCopy lc(H, W, top, left, L);
  // Lane groups per chunk: the fewest that make the slot count a multiple of NV.
  const int64_t LG = tile_chunk(PQ, Tiles::NV), T_ = parallel ? omp_get_max_threads() : 1;
  std::vector<std::unique_ptr<Slots>> slots(static_cast<size_t>(LG));  // [groups - 1]
  for (int64_t l = 1; l <= LG; ++l)
    slots[l - 1] = std::make_unique<Slots>(Slots::ImageLanes{}, L.P, L.Q, Wi, kL, Tiles::NV, l, in_group, out_group);
  std::vector<std::vector<T>> packed(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g)
    packed[g] =
        pack_weights<T>(Tiles::MR, Mg, Cg, RS, [&](int64_t m, int64_t c, int64_t t) { return get(g, m, c, t); });
#pragma omp parallel if (parallel)
  {
    const ImageBuffer<T> xbuf(static_cast<size_t>(LG * in_group)), ybuf(static_cast<size_t>(LG * out_group));
    T *xb = xbuf.data(), *yb = ybuf.data();
    std::fill(xb, xb + LG * in_group, T(0));  // the padding
    for (int64_t t = omp_get_thread_num(); t < T_; t += omp_get_num_threads()) {
      const int64_t begin = N * t / T_, end = N * (t + 1) / T_;
      for (int64_t n0 = begin; n0 < end; n0 += LG * kL) {
        const int64_t nb = std::min(LG * kL, end - n0), groups = (nb + kL - 1) / kL;
        if (nb % kL != 0)  // the last group's unused lanes must read zero (their outputs are dropped)
          std::fill(xb + (groups - 1) * in_group, xb + groups * in_group, T(0));
        for (int64_t l = 0; l < groups; ++l)
          lc.copy(in + (n0 + l * kL) * C * H * W, C * H * W, std::min(kL, nb - l * kL), C, xb + l * in_group);
        for (int64_t g = 0; g < G; ++g)
          Tiles::planes(PlanesArgs<T>{xb + g * Cg * cs, cs, off.data(), RS, Cg, Mg, packed[g].data(),
                                      bias ? bias + g * Mg : nullptr, yb + g * Mg * PQ * kL, PQ * kL,
                                      slots[groups - 1].get()});
        for (int64_t l = 0; l < groups; ++l)
          from_lanes(yb + l * out_group, std::min(kL, nb - l * kL), M * PQ, out + (n0 + l * kL) * M * PQ, M * PQ);
      }
    }
  }
}

}  // namespace minidl::cpu::conv_detail

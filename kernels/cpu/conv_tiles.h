// Internal to the cpu conv engine (kernels/cpu/conv.cpp): the register tiles, in an AVX2 and an
// AVX-512 set (conv_path.h's has_avx512() picks one per CPU at run time).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/conv_layout.h"

namespace minidl::cpu::conv_detail {

// ---- register tiles ------------------------------------------------------------------------------
// The tiles below are templates on their sizes. AVX2 has 16 ymm registers: 4 output channels x 3
// slots (12 accumulators) for the forward-style tile, 3 x 3 for the backward-weight tile. The
// same 8-lane code compiled with AVX-512VL gets 32 ymm registers and twice the tiles (4 x 6 and
// 6 x 3: 10 loads per 24 FMAs instead of 7 per 12); it is chosen at run time on CPUs that have it (the
// build's baseline stays x86-64-v3: only the wrappers at the end of this section carry the
// target attribute, and everything they call is inlined into them).
#if defined(__GNUC__)
#define MINIDL_CONV_INLINE __attribute__((always_inline)) inline
#else
#define MINIDL_CONV_INLINE inline
#endif
// MINIDL_CONV_AVX512_TILES: whether this build compiles the AVX-512 tile set at all (GCC or Clang
// on x86-64 with the AVX2 + FMA baseline); has_avx512() then picks it at run time, per CPU.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#define MINIDL_CONV_AVX512_TILES 1
#else
#define MINIDL_CONV_AVX512_TILES 0
#endif

// Weights packed for the tiles: for each block of mr output channels (the last may be narrower),
// [input channel][tap][channel in block], so one tap's weights are adjacent.
// get(m, ci, t) is the weight of output channel m, input channel ci, tap t.
template <class T, class Get>
std::vector<T> pack_weights(int64_t mr_block, int64_t M, int64_t Ci, int64_t taps, Get get) {
  std::vector<T> packed(static_cast<size_t>(M * Ci * taps));
  T* out = packed.data();
  for (int64_t m0 = 0; m0 < M; m0 += mr_block) {
    const int64_t mr = std::min(mr_block, M - m0);
    for (int64_t ci = 0; ci < Ci; ++ci)
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t m = 0; m < mr; ++m) *out++ = get(m0 + m, ci, t);
  }
  return packed;
}

// One forward-style register tile: for m < MR and the NV slots v,
//   out[m ldo + sout[v] + i] = init[m] + sum_{ci, t} wp[ci][t][m] in[ci cs + sin[v] + off[t] + i]   (i < sn[v])
template <class T, int MR, int NV>
MINIDL_CONV_INLINE void conv_tile(const T* in, int64_t cs, const int64_t* off, int64_t taps, int64_t Ci, const T* wp,
                                  const T* init, T* out, int64_t ldo, const Slots& sl, int64_t v0) {
  const int64_t *sin = sl.in.data() + v0, *sout = sl.out.data() + v0, *sn = sl.n.data() + v0;
  using VT = Vec<T>;
  using V = typename VT::V;
  constexpr int kL = VT::kLanes;
  V acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = init ? VT::set1(init[m]) : VT::zero();
  const T* base[NV];
  for (int v = 0; v < NV; ++v) base[v] = in + sin[v];
  for (int64_t ci = 0; ci < Ci; ++ci) {
    for (int64_t t = 0; t < taps; ++t, wp += MR) {
      V xv[NV];
      for (int v = 0; v < NV; ++v) xv[v] = VT::load(base[v] + off[t]);
      for (int m = 0; m < MR; ++m) {
        const V wv = VT::set1(wp[m]);
        for (int v = 0; v < NV; ++v) acc[m][v] = VT::fma(wv, xv[v], acc[m][v]);
      }
    }
    for (int v = 0; v < NV; ++v) base[v] += cs;
  }
  for (int v = 0; v < NV; ++v) {
    if (sn[v] == kL) {
      for (int m = 0; m < MR; ++m) VT::store(out + m * ldo + sout[v], acc[m][v]);
    } else {  // a short or flat slot: its valid lanes, run by run
      T tmp[MR][kL];
      for (int m = 0; m < MR; ++m) VT::store(tmp[m], acc[m][v]);
      for (int64_t r = sl.run_first[v0 + v]; r < sl.run_first[v0 + v + 1]; ++r) {
        const int64_t lane = sl.run_lane[r], len = sl.run_len[r], o = sl.run_out[r];
        for (int m = 0; m < MR; ++m)
          for (int64_t i = 0; i < len; ++i) out[m * ldo + o + i] = tmp[m][lane + i];
      }
    }
  }
}

// out[m ldo + slot] = bias[m] + sum_{ci < Ci, t} w[m, ci, t] in[ci cs + slot + off[t]] for m < M and
// every slot (w packed by pack_weights in blocks of MR; bias may be null).
template <class T>
struct PlanesArgs {
  const T* in;
  int64_t cs;
  const int64_t* off;
  int64_t taps, Ci, M;
  const T* wp;
  const T* bias;
  T* out;
  int64_t ldo;
  const Slots* sl;
};

template <class T, int MR, int NV>
MINIDL_CONV_INLINE void conv_planes(const PlanesArgs<T>& a) {
  const Slots& sl = *a.sl;
  for (int64_t v0 = 0; v0 < sl.size(); v0 += NV) {
    for (int64_t m0 = 0; m0 < a.M; m0 += MR) {
      const T* w = a.wp + m0 * a.Ci * a.taps;
      const T* b = a.bias ? a.bias + m0 : nullptr;
      T* o = a.out + m0 * a.ldo;
      switch (std::min<int64_t>(MR, a.M - m0)) {
        case 4: conv_tile<T, 4, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sl, v0); break;
        case 3: conv_tile<T, 3, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sl, v0); break;
        case 2: conv_tile<T, 2, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sl, v0); break;
        default: conv_tile<T, 1, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sl, v0); break;
      }
    }
  }
}

// Register tile of the backward weight: for m < MR and t < NT,
//   dw[m ldw + t] += sum_{slots v} sum_{i < n_v} a[m lda + out_v + i] in[in_v + off[t] + i]
// a is dy (planes of lda: P x Q, or P Wi + kL on the flat grid), in the padded x, and off[t]
// selects an input row (channel c, tap (r, s)) by its offset c cs + Regrouped::off[t]. MR x NT
// accumulators plus NT inputs and MR dy vectors must fit the registers (the compiler loads all MR
// dy vectors at once). The junk x lanes add nothing: the dy lanes past a short slot are zeroed
// here, and on the flat grid dy's junk columns are zero in its copy.
template <class T, int MR, int NT>
MINIDL_CONV_INLINE void dw_tile(const T* a, int64_t lda, const T* in, const int64_t* off, const Slots& sl, T* dw,
                                int64_t ldw) {
  using VT = Vec<T>;
  using V = typename VT::V;
  V acc[MR][NT];
  for (int m = 0; m < MR; ++m)
    for (int t = 0; t < NT; ++t) acc[m][t] = VT::zero();
  const int64_t nfull = static_cast<int64_t>(sl.full_in.size()), nshort = static_cast<int64_t>(sl.short_in.size());
  for (int64_t v = 0; v < nfull; ++v) {  // the hot loop: no masks, nothing but loads and FMAs
    const T* pa = a + sl.full_out[v];
    const T* px = in + sl.full_in[v];
    V xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = VT::load(px + off[t]);
    for (int m = 0; m < MR; ++m) {
      const V av = VT::load(pa + m * lda);
      for (int t = 0; t < NT; ++t) acc[m][t] = VT::fma(av, xv[t], acc[m][t]);
    }
  }
  for (int64_t v = 0; v < nshort; ++v) {
    const T* pa = a + sl.short_out[v];
    const T* px = in + sl.short_in[v];
    V xv[NT];
    for (int t = 0; t < NT; ++t) xv[t] = VT::load(px + off[t]);
    for (int m = 0; m < MR; ++m) {
      const V av = VT::keep_first(VT::load(pa + m * lda), sl.short_n[v]);
      for (int t = 0; t < NT; ++t) acc[m][t] = VT::fma(av, xv[t], acc[m][t]);
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int t = 0; t < NT; ++t) dw[m * ldw + t] += VT::sum(acc[m][t]);
}

template <class T, int MR>
MINIDL_CONV_INLINE void dw_tile_nt(int64_t nt, const T* a, int64_t lda, const T* in, const int64_t* off,
                                   const Slots& sl, T* dw, int64_t ldw) {
  switch (nt) {
    case 3: dw_tile<T, MR, 3>(a, lda, in, off, sl, dw, ldw); break;
    case 2: dw_tile<T, MR, 2>(a, lda, in, off, sl, dw, ldw); break;
    default: dw_tile<T, MR, 1>(a, lda, in, off, sl, dw, ldw); break;
  }
}

// dw[k][j] += sum over the chunk's slots of dy[k] x row j, for k < Kg and every row j < CRS of one
// group (row[j] = offset of row j in the group's padded planes), in MR x 3 tiles.
template <class T>
struct DwArgs {
  const T* a;  // dy of the group's first channel, planes of lda elements
  int64_t lda, Kg;
  const T* in;  // the group's padded x
  const int64_t* row;
  int64_t CRS;
  const Slots* sl;
  T* dw;  // [Kg][CRS]
};

template <class T, int MR>
MINIDL_CONV_INLINE void dw_chunk(const DwArgs<T>& a) {
  for (int64_t k0 = 0; k0 < a.Kg; k0 += MR) {
    const T* ak = a.a + k0 * a.lda;
    for (int64_t j0 = 0; j0 < a.CRS; j0 += 3) {
      const int64_t nt = std::min<int64_t>(3, a.CRS - j0);
      T* d = a.dw + k0 * a.CRS + j0;
      const int64_t* r = a.row + j0;
      switch (std::min<int64_t>(MR, a.Kg - k0)) {
        case 6: dw_tile_nt<T, 6>(nt, ak, a.lda, a.in, r, *a.sl, d, a.CRS); break;  // (5, 6: 32 registers)
        case 5: dw_tile_nt<T, 5>(nt, ak, a.lda, a.in, r, *a.sl, d, a.CRS); break;
        case 4: dw_tile_nt<T, 4>(nt, ak, a.lda, a.in, r, *a.sl, d, a.CRS); break;
        case 3: dw_tile_nt<T, 3>(nt, ak, a.lda, a.in, r, *a.sl, d, a.CRS); break;
        case 2: dw_tile_nt<T, 2>(nt, ak, a.lda, a.in, r, *a.sl, d, a.CRS); break;
        default: dw_tile_nt<T, 1>(nt, ak, a.lda, a.in, r, *a.sl, d, a.CRS); break;
      }
    }
  }
}

// The two tile sets. planes / dw are the (non-inlined) entry points the drivers call per chunk.
struct Avx2Tiles {
  static constexpr int MR = 4, NV = 3, DwMR = 3;
  template <class T>
  static void planes(const PlanesArgs<T>& a) { conv_planes<T, MR, NV>(a); }
  template <class T>
  static void dw(const DwArgs<T>& a) { dw_chunk<T, DwMR>(a); }
};
#if MINIDL_CONV_AVX512_TILES
#define MINIDL_CONV_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")))
struct Avx512Tiles {
  static constexpr int MR = 4, NV = 6, DwMR = 6;
  template <class T>
  MINIDL_CONV_TARGET_AVX512 static void planes(const PlanesArgs<T>& a) { conv_planes<T, MR, NV>(a); }
  template <class T>
  MINIDL_CONV_TARGET_AVX512 static void dw(const DwArgs<T>& a) { dw_chunk<T, DwMR>(a); }
};
#endif

}  // namespace minidl::cpu::conv_detail

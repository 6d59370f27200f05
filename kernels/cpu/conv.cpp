// The tuned CPU convolution engine (the default on the CPU). Its specification is the plain
// 7-loop convolution, kernels/ref/conv.cpp, which the tests compare it with on every path.
//   forward:         y[n, k, p, q] = b[k] + sum_{c, r, s} w[k, c, r, s] x[n, c, p sh - ph + r, q sw - pw + s]
//   backward data:   dx[n, c, h, w] = sum_{k, r, s} w[k, c, r, s] dy[n, k, p, q] over h = p sh - ph + r,
//                    w = q sw - pw + s; for stride 1 that is a forward convolution of dy, padded by
//                    (R-1-ph, S-1-pw), with the kernel flipped in r and s and k <-> c swapped.
//   backward weight: dw[k, c, r, s] = sum_{n, p, q} dy[n, k, p, q] x[n, c, p sh - ph + r, q sw - pw + s]
//                    db[k] = sum_{n, p, q} dy[n, k, p, q]
// (c runs over the input channels of k's group only.) Nothing is saved: the front-end keeps x and w.
//
// Two implementations.
// * Stride 1 (every convolution of our CIFAR nets): direct convolution on a zero-padded copy of
//   the images, no im2col. With an image padded to Hi x Wi, tap (r, s) of output pixel (p, q)
//   reads input element (p + r) Wi + q + s: for a fixed tap, a run of outputs along a row reads a
//   contiguous run of the input. A register tile is 4 output channels x 3 vectors of 8 pixels
//   (12 AVX accumulators): per (input channel, tap) it loads the 3 input vectors straight from
//   the padded planes, broadcasts 4 weights and issues 12 FMAs. Backward data is the same kernel
//   run on dy padded by (R-1-ph, S-1-pw) with the flipped, transposed kernel. Backward weight
//   is dot products over the same vectors: 3 output channels x 3 (input channel, tap) rows
//   per tile, reduced over every pixel of a chunk of images, then summed horizontally.
//   Details (slots, over-reads, chunks) are at the stride-1 section below.
// * Other strides: im2col of one image into a per-thread buffer, then cpu::gemm (Eigen,
//   single-threaded inside the parallel region) per group; col2im for backward data.
// OpenMP splits the batch across the threads (equal contiguous ranges); each thread accumulates
// its own dw and db (ThreadPartials), summed at the end. Padded buffers are per thread, zeroed
// once: their borders are never written. The vector type Vec<T> is in kernels/cpu/simd.h.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/simd.h"
#include "kernels/linear.h"

namespace minidl::cpu {
namespace {

// Below this many multiply-adds a convolution runs on one thread: waking the others costs more
// than they save (and far more on a loaded machine).
constexpr int64_t kParallelMinMacs = int64_t(1) << 20;
int64_t conv_macs(const Conv2dShape& s) { return s.N * s.K * s.Cg() * s.R * s.S * s.P * s.Q; }

// Per-thread partial sums of one gradient (dw or db): inside a parallel region every thread adds
// into its own zeroed vector, mine(); sum_into() then adds the parts up in thread order, so the
// result does not depend on which thread finished first.
template <class Acc>
class ThreadPartials {
 public:
  explicit ThreadPartials(int64_t n) : n_(n), parts_(static_cast<size_t>(omp_get_max_threads())) {}
  std::vector<Acc>& mine() {
    std::vector<Acc>& part = parts_[omp_get_thread_num()];
    part.assign(static_cast<size_t>(n_), Acc(0));
    return part;
  }
  template <class T>
  void sum_into(T* out) const {
    for (int64_t i = 0; i < n_; ++i) {
      Acc acc = 0;
      for (const auto& part : parts_)
        if (!part.empty()) acc += part[i];  // threads of a smaller team have no part
      out[i] = static_cast<T>(acc);
    }
  }

 private:
  int64_t n_;
  std::vector<std::vector<Acc>> parts_;
};

// ---- stride 1 ------------------------------------------------------------------------------------
// The image (padded to Hi x Wi) is a stack of planes with channel stride cs = Hi Wi. Output pixel
// (p, q) reads input element (p + r) Wi + q + s for tap (r, s): a fixed tap shifts the whole row.
// The output rows are cut into "slots" of one vector: a slot holds the pixels (p, q0 .. q0 + n - 1)
// of one row of one image (n <= kLanes, short at the end of a row), reads the input from its
// `in` offset (plus the tap's offset) and lands at its `out` offset. A register tile is any NV
// slots, of one image or of several, so 8-pixel rows waste nothing and no junk column is stored.
//
// Loads are always whole vectors (masked loads cost registers the tiles do not have): the lanes
// past a short slot's end read the next input elements and are dropped at the store (forward,
// backward data) or multiplied by a dy zeroed in those lanes (backward weight). Such a read can
// run up to kLanes - 1 elements past the last plane, so the input is read in place only when
// more of the tensor follows; otherwise it is copied into a buffer with that much slack.
struct Slots {
  std::vector<int64_t> in, out, n;  // every slot, then padding slots (n = 0) up to a multiple
  // The same real slots split into full and short ones (for loops that must not branch).
  std::vector<int64_t> full_in, full_out, short_in, short_out, short_n;
  bool overrun = false;  // some slot (short or padding) reads past its last valid element
  // P x Q outputs per image read from rows of width Wi; image b starts at b in_stride in the
  // input and at b out_stride in the output.
  Slots(int64_t P, int64_t Q, int64_t Wi, int64_t lanes, int64_t multiple, int64_t images, int64_t in_stride,
        int64_t out_stride) {
    const size_t count = static_cast<size_t>(images * P * ((Q + lanes - 1) / lanes) + multiple);
    in.reserve(count), out.reserve(count), n.reserve(count), full_in.reserve(count), full_out.reserve(count);
    for (int64_t b = 0; b < images; ++b)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q0 = 0; q0 < Q; q0 += lanes) {
          const int64_t i = b * in_stride + p * Wi + q0, o = b * out_stride + p * Q + q0, len = std::min(lanes, Q - q0);
          in.push_back(i), out.push_back(o), n.push_back(len);
          if (len == lanes) full_in.push_back(i), full_out.push_back(o);
          else short_in.push_back(i), short_out.push_back(o), short_n.push_back(len);
        }
    overrun = Q % lanes != 0 || n.size() % multiple != 0;
    while (n.size() % multiple != 0) in.push_back(0), out.push_back(0), n.push_back(0);  // computed, never stored
  }
  int64_t size() const { return static_cast<int64_t>(n.size()); }
};

// Images are processed in chunks of up to B. The batch is cut into T equal contiguous ranges
// (T = the number of threads, so their work differs by one image at most), each walked in
// chunks; slots(nb) are the slots of a chunk of nb images, built only for the sizes that occur.
struct Chunks {
  int64_t N, B, T;
  std::vector<std::unique_ptr<Slots>> by_size;  // [nb - 1]
  Chunks(int64_t N_, int64_t B_, bool parallel, int64_t P, int64_t Q, int64_t Wi, int64_t lanes, int64_t multiple,
         int64_t in_stride, int64_t out_stride)
      : N(N_), B(std::max<int64_t>(1, std::min(B_, N_))), T(parallel ? omp_get_max_threads() : 1), by_size(B) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t len = N * (t + 1) / T - N * t / T;
      for (int64_t nb : {len >= B ? B : int64_t(0), len % B})
        if (nb > 0 && !by_size[nb - 1])
          by_size[nb - 1] = std::make_unique<Slots>(P, Q, Wi, lanes, multiple, nb, in_stride, out_stride);
    }
  }
  const Slots& slots(int64_t nb) const { return *by_size[nb - 1]; }
  bool overrun() const {
    return std::any_of(by_size.begin(), by_size.end(), [](const auto& sl) { return sl && sl->overrun; });
  }
  // Inside the parallel region: fn(begin, end) for this thread's range(s) of images (a team
  // smaller than T takes the ranges round-robin).
  template <class Fn>
  void for_my_ranges(Fn&& fn) const {
    for (int64_t t = omp_get_thread_num(); t < T; t += omp_get_num_threads()) fn(N * t / T, N * (t + 1) / T);
  }
};

// Tap t = r S + s is the input offset r Wi + s.
std::vector<int64_t> tap_offsets(int64_t R, int64_t S, int64_t Wi) {
  std::vector<int64_t> off(R * S);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t s = 0; s < S; ++s) off[r * S + s] = r * Wi + s;
  return off;
}

// dst[c][i][j] = src[c][i - top][j - left] for the (i, j) inside both; top / left < 0 crop.
// Positions of dst outside the source are not touched (they stay zero from the allocation).
template <class T>
void copy_shifted(const T* src, int64_t C, int64_t Hs, int64_t Ws, T* dst, int64_t Hd, int64_t Wd, int64_t top,
                  int64_t left) {
  const int64_t i0 = std::max<int64_t>(0, top), i1 = std::min(Hd, Hs + top);
  const int64_t j0 = std::max<int64_t>(0, left), j1 = std::min(Wd, Ws + left);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = i0; i < i1; ++i) {
      const T* s = src + (c * Hs + i - top) * Ws - left;
      T* d = dst + (c * Hd + i) * Wd;
      for (int64_t j = j0; j < j1; ++j) d[j] = s[j];  // rows are short (8..34): a loop beats memcpy
    }
}

// A per-thread input buffer: images x C planes of cs elements plus kLanes of slack for the
// vector over-read, zero where nothing is copied (the padding).
template <class T>
std::vector<T> plane_buffer(bool needed, int64_t images, int64_t C, int64_t cs) {
  return std::vector<T>(needed ? static_cast<size_t>(images * C * cs + Vec<T>::kLanes) : 0);
}

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
                                  const T* init, T* out, int64_t ldo, const int64_t* sin, const int64_t* sout,
                                  const int64_t* sn) {
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
    } else {  // a short slot: only its first sn[v] lanes exist in out
      T tmp[kL];
      for (int m = 0; m < MR; ++m) {
        VT::store(tmp, acc[m][v]);
        for (int64_t i = 0; i < sn[v]; ++i) out[m * ldo + sout[v] + i] = tmp[i];
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
    const int64_t *sin = sl.in.data() + v0, *sout = sl.out.data() + v0, *sn = sl.n.data() + v0;
    for (int64_t m0 = 0; m0 < a.M; m0 += MR) {
      const T* w = a.wp + m0 * a.Ci * a.taps;
      const T* b = a.bias ? a.bias + m0 : nullptr;
      T* o = a.out + m0 * a.ldo;
      switch (std::min<int64_t>(MR, a.M - m0)) {
        case 4: conv_tile<T, 4, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sin, sout, sn); break;
        case 3: conv_tile<T, 3, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sin, sout, sn); break;
        case 2: conv_tile<T, 2, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sin, sout, sn); break;
        default: conv_tile<T, 1, NV>(a.in, a.cs, a.off, a.taps, a.Ci, w, b, o, a.ldo, sin, sout, sn); break;
      }
    }
  }
}

// Register tile of the backward weight: for m < MR and t < NT,
//   dw[m ldw + t] += sum_{slots v} sum_{i < n_v} a[m lda + out_v + i] in[in_v + off[t] + i]
// a is dy (planes P x Q), in the padded x, and off[t] selects an input row (channel c, tap (r, s))
// by its offset c cs + r Wi + s. MR x NT accumulators plus NT inputs and MR dy vectors must fit
// the registers (the compiler loads all MR dy vectors at once). The dy lanes past a short slot
// are zeroed so the junk x lanes add nothing.
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
// MINIDL_CPU_AVX512=0 forces the AVX2 tiles (to test them on a machine that has AVX-512).
bool has_avx512() {
  static const bool ok = [] {
    const char* env = std::getenv("MINIDL_CPU_AVX512");
    if (env && std::string(env) == "0") return false;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  }();
  return ok;
}
#endif

// ---- stride-1 drivers ----------------------------------------------------------------------------
// Images per chunk for the forward-style passes: the fewest that make the slot count a multiple
// of NV (8x8 images have 8 slots each: 3 of them fill 24 slots).
int64_t tile_chunk(int64_t P, int64_t Q, int64_t lanes, int64_t NV) {
  const int64_t slots = P * ((Q + lanes - 1) / lanes);
  int64_t g = NV, b = slots;
  while (b != 0) g = std::exchange(b, g % b);  // gcd(NV, slots)
  return NV / g;
}

// The stride-1 convolution of `in` (N images of C planes H x W) padded by (top, left) on each
// side (negative: cropped) into Hi x Wi, with the kernel get(g, m, ci, t) of M x C/G x R x S,
// giving out (N images of M planes P x Q, P = Hi - R + 1, Q = Wi - S + 1). Forward and backward data.
template <class Tiles, class T, class Get>
void conv_stride1_with(const T* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t R,
                       int64_t S, int64_t G, int64_t M, Get get, const T* bias, T* out) {
  const int64_t Cg = C / G, Mg = M / G, RS = R * S;
  const int64_t Hi = H + 2 * top, Wi = W + 2 * left, cs = Hi * Wi, P = Hi - R + 1, Q = Wi - S + 1, PQ = P * Q;
  const bool pad = top != 0 || left != 0;
  const std::vector<int64_t> off = tap_offsets(R, S, Wi);
  constexpr int64_t kL = Vec<T>::kLanes;
  const bool parallel = N * M * Cg * RS * PQ > kParallelMinMacs;
  const Chunks ch(N, tile_chunk(P, Q, kL, Tiles::NV), parallel, P, Q, Wi, kL, Tiles::NV, C * cs, M * PQ);
  std::vector<std::vector<T>> packed(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g)
    packed[g] =
        pack_weights<T>(Tiles::MR, Mg, Cg, RS, [&](int64_t m, int64_t c, int64_t t) { return get(g, m, c, t); });
#pragma omp parallel if (parallel)
  {
    std::vector<T> buf = plane_buffer<T>(pad || ch.overrun(), ch.B, C, cs);
    ch.for_my_ranges([&](int64_t begin, int64_t end) {
      for (int64_t n0 = begin; n0 < end; n0 += ch.B) {
        const int64_t nb = std::min(ch.B, end - n0);
        const Slots& sl = ch.slots(nb);
        const T* src = in + n0 * C * H * W;
        const bool copy = pad || (sl.overrun && n0 + nb == N);
        if (copy)
          for (int64_t b = 0; b < nb; ++b)
            copy_shifted(src + b * C * H * W, C, H, W, buf.data() + b * C * cs, Hi, Wi, top, left);
        const T* planes = copy ? buf.data() : src;  // without padding, H x W == Hi x Wi
        for (int64_t g = 0; g < G; ++g)
          Tiles::planes(PlanesArgs<T>{planes + g * Cg * cs, cs, off.data(), RS, Cg, Mg, packed[g].data(),
                                      bias ? bias + g * Mg : nullptr, out + (n0 * M + g * Mg) * PQ, PQ, &sl});
      }
    });
  }
}

template <class T, class Get>
void conv_stride1(const T* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t R,
                  int64_t S, int64_t G, int64_t M, Get get, const T* bias, T* out) {
#if MINIDL_CONV_AVX512_TILES
  if (has_avx512()) return conv_stride1_with<Avx512Tiles>(in, N, C, H, W, top, left, R, S, G, M, get, bias, out);
#endif
  conv_stride1_with<Avx2Tiles>(in, N, C, H, W, top, left, R, S, G, M, get, bias, out);
}

template <class T>
void fwd_stride1(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  conv_stride1(x, s.N, s.C, s.H, s.W, s.pad_h, s.pad_w, s.R, s.S, s.groups, s.K,
               [&](int64_t g, int64_t k, int64_t c, int64_t t) { return w[((g * Kg + k) * Cg + c) * RS + t]; }, bias,
               y);
}

template <class T>
void bwd_data_stride1(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  // dy padded by (R-1-ph, S-1-pw) (cropped where that is negative) is (H + R - 1) x (W + S - 1);
  // its stride-1 convolution with the kernel flipped in r and s, k and c swapped, is H x W.
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  auto flipped = [&](int64_t g, int64_t c, int64_t k, int64_t t) {
    return w[((g * Kg + k) * Cg + c) * RS + (RS - 1 - t)];
  };
  conv_stride1(dy, s.N, s.K, s.P, s.Q, s.R - 1 - s.pad_h, s.S - 1 - s.pad_w, s.R, s.S, s.groups, s.C, flipped,
               static_cast<const T*>(nullptr), dx);
}

template <class Tiles, class T>
void bwd_weight_stride1_with(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, PQ = s.P * s.Q, CRS = Cg * RS;
  const bool pad = s.pad_h > 0 || s.pad_w > 0;
  const int64_t Hi = s.H + 2 * s.pad_h, Wi = s.W + 2 * s.pad_w, cs = Hi * Wi;
  // Input row j = c RS + t of a group (channel c, tap t) starts at c cs + off[t]; dw[k][j] is its
  // weight, so tiles run over consecutive j, across channels (1x1 kernels get 3 channels a tile).
  const std::vector<int64_t> off = tap_offsets(s.R, s.S, Wi);
  std::vector<int64_t> row(static_cast<size_t>(CRS));
  for (int64_t j = 0; j < CRS; ++j) row[j] = (j / RS) * cs + off[j % RS];
  // Small images: several per chunk (at least ~128 slots), so each tile's horizontal sums are amortized.
  constexpr int64_t kL = Vec<T>::kLanes;
  const int64_t per_image = s.P * ((s.Q + kL - 1) / kL);
  const bool parallel = conv_macs(s) > kParallelMinMacs;
  const Chunks ch(s.N, std::max<int64_t>(1, std::min<int64_t>(16, 128 / per_image)), parallel, s.P, s.Q, Wi, kL, 1,
                  s.C * cs, s.K * PQ);
  const bool overrun = ch.overrun();
  ThreadPartials<T> dw_parts(s.K * CRS);
  ThreadPartials<double> db_parts(s.K);
#pragma omp parallel if (parallel)
  {
    std::vector<T>& dwt = dw_parts.mine();
    std::vector<double>& dbt = db_parts.mine();
    std::vector<T> xp = plane_buffer<T>(pad || overrun, ch.B, s.C, cs);
    std::vector<T> dyp = plane_buffer<T>(overrun, ch.B, s.K, PQ);
    ch.for_my_ranges([&](int64_t begin, int64_t end) {
      for (int64_t n0 = begin; n0 < end; n0 += ch.B) {
        const int64_t nb = std::min(ch.B, end - n0);
        const Slots& sl = ch.slots(nb);
        const T* xn = x + n0 * s.C * s.H * s.W;
        const T* dyn = dy + n0 * s.K * PQ;
        const bool last = n0 + nb == s.N, copy_x = pad || (sl.overrun && last), copy_dy = sl.overrun && last;
        if (copy_x)
          for (int64_t b = 0; b < nb; ++b)
            copy_shifted(xn + b * s.C * s.H * s.W, s.C, s.H, s.W, xp.data() + b * s.C * cs, Hi, Wi, s.pad_h, s.pad_w);
        if (copy_dy) std::copy(dyn, dyn + nb * s.K * PQ, dyp.data());
        if (db)
          for (int64_t k = 0; k < nb * s.K; ++k) {
            const T* r = dyn + k * PQ;
            T acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int64_t i = 0; i < PQ; ++i) acc += r[i];
            dbt[k % s.K] += acc;
          }
        const T* in = copy_x ? xp.data() : xn;  // without padding, H x W == Hi x Wi
        const T* a = copy_dy ? dyp.data() : dyn;
        for (int64_t g = 0; g < s.groups; ++g)
          Tiles::dw(DwArgs<T>{a + g * Kg * PQ, PQ, Kg, in + g * Cg * cs, row.data(), CRS, &sl,
                              dwt.data() + g * Kg * CRS});
      }
    });
  }
  dw_parts.sum_into(dw);
  if (db) db_parts.sum_into(db);
}

template <class T>
void bwd_weight_stride1(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
#if MINIDL_CONV_AVX512_TILES
  if (has_avx512()) return bwd_weight_stride1_with<Avx512Tiles>(s, x, dy, dw, db);
#endif
  bwd_weight_stride1_with<Avx2Tiles>(s, x, dy, dw, db);
}

// ---- any stride: im2col + GEMM -------------------------------------------------------------------
// col[(c R + r) S + s][p Q + q] = x[c, p sh - ph + r, q sw - pw + s] (0 in the padding).
template <class T>
void im2col(const Conv2dShape& s, const T* x, T* col) {
  const int64_t PQ = s.P * s.Q;
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t u = 0; u < s.S; ++u) {
        T* row = col + ((c * s.R + r) * s.S + u) * PQ;
        for (int64_t p = 0; p < s.P; ++p) {
          const int64_t h = p * s.stride_h - s.pad_h + r;
          T* out = row + p * s.Q;
          if (h < 0 || h >= s.H) {
            std::fill(out, out + s.Q, T(0));
            continue;
          }
          const T* in = x + (c * s.H + h) * s.W;
          for (int64_t q = 0; q < s.Q; ++q) {
            const int64_t wi = q * s.stride_w - s.pad_w + u;
            out[q] = (wi >= 0 && wi < s.W) ? in[wi] : T(0);
          }
        }
      }
}

// The adjoint of im2col: dx[c, h, w] += col[...] for every entry that im2col would have read.
template <class T>
void col2im(const Conv2dShape& s, const T* col, T* dx) {
  const int64_t PQ = s.P * s.Q;
  std::fill(dx, dx + s.C * s.H * s.W, T(0));
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t u = 0; u < s.S; ++u) {
        const T* row = col + ((c * s.R + r) * s.S + u) * PQ;
        for (int64_t p = 0; p < s.P; ++p) {
          const int64_t h = p * s.stride_h - s.pad_h + r;
          if (h < 0 || h >= s.H) continue;
          T* out = dx + (c * s.H + h) * s.W;
          for (int64_t q = 0; q < s.Q; ++q) {
            const int64_t wi = q * s.stride_w - s.pad_w + u;
            if (wi >= 0 && wi < s.W) out[wi] += row[p * s.Q + q];
          }
        }
      }
}

template <class T>
void fwd_im2col(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
#pragma omp parallel if (conv_macs(s) > kParallelMinMacs)
  {
    std::vector<T> col(static_cast<size_t>(s.C * s.R * s.S * PQ));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      im2col(s, x + n * s.C * s.H * s.W, col.data());
      for (int64_t g = 0; g < s.groups; ++g) {
        T* yg = y + (n * s.K + g * Kg) * PQ;
        gemm<T>(false, false, Kg, PQ, CRS, T(1), w + g * Kg * CRS, CRS, col.data() + g * CRS * PQ, PQ, T(0), yg, PQ);
        if (bias)
          for (int64_t k = 0; k < Kg; ++k)
            for (int64_t i = 0; i < PQ; ++i) yg[k * PQ + i] += bias[g * Kg + k];
      }
    }
  }
}

template <class T>
void bwd_data_im2col(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
#pragma omp parallel if (conv_macs(s) > kParallelMinMacs)
  {
    std::vector<T> col(static_cast<size_t>(s.C * s.R * s.S * PQ));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      for (int64_t g = 0; g < s.groups; ++g)  // dcol_g = w_g^T dy_g
        gemm<T>(true, false, CRS, PQ, Kg, T(1), w + g * Kg * CRS, CRS, dy + (n * s.K + g * Kg) * PQ, PQ, T(0),
                col.data() + g * CRS * PQ, PQ);
      col2im(s, col.data(), dx + n * s.C * s.H * s.W);
    }
  }
}

template <class T>
void bwd_weight_im2col(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  ThreadPartials<T> dw_parts(s.K * CRS);
#pragma omp parallel if (conv_macs(s) > kParallelMinMacs)
  {
    std::vector<T>& dwt = dw_parts.mine();
    std::vector<T> col(static_cast<size_t>(s.C * s.R * s.S * PQ));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < s.N; ++n) {
      im2col(s, x + n * s.C * s.H * s.W, col.data());
      for (int64_t g = 0; g < s.groups; ++g)  // dw_g += dy_g col_g^T
        gemm<T>(false, true, Kg, CRS, PQ, T(1), dy + (n * s.K + g * Kg) * PQ, PQ, col.data() + g * CRS * PQ, PQ,
                T(1), dwt.data() + g * Kg * CRS, CRS);
    }
  }
  dw_parts.sum_into(dw);
  if (db) ref::bias_bwd<T>(dy, db, s.N, s.K, PQ);  // a plain sum: the reference's is as fast as any
}

bool unit_stride(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

}  // namespace

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.N == 0) return;
  if (unit_stride(s)) fwd_stride1(s, x, w, bias, y);
  else fwd_im2col(s, x, w, bias, y);
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (s.N == 0) return;
  if (unit_stride(s)) bwd_data_stride1(s, dy, w, dx);
  else bwd_data_im2col(s, dy, w, dx);
}

template <class T>
void conv2d_bwd_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (unit_stride(s)) bwd_weight_stride1(s, x, dy, dw, db);
  else bwd_weight_im2col(s, x, dy, dw, db);
}

#define INSTANTIATE(T)                                                                     \
  template void conv2d_fwd<T>(const Conv2dShape&, const T*, const T*, const T*, T*);      \
  template void conv2d_bwd_data<T>(const Conv2dShape&, const T*, const T*, T*);           \
  template void conv2d_bwd_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);
INSTANTIATE(float)
INSTANTIATE(double)
#undef INSTANTIATE

}  // namespace minidl::cpu

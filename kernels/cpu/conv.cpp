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
// One implementation for every stride: direct convolution on a zero-padded copy of the images,
// no im2col. With an image padded to Hi x Wi, tap (r, s) of output pixel (p, q) reads input element
// (p + r) Wi + q + s at stride 1: for a fixed tap, a run of outputs along a row reads a contiguous
// run of the input. A register tile is 4 output channels x 3 vectors of 8 pixels (12 AVX
// accumulators): per (input channel, tap) it loads the 3 input vectors straight from the padded
// planes, broadcasts 4 weights and issues 12 FMAs. Backward weight is dot products over the same
// vectors: 3 output channels x 3 (input channel, tap) rows per tile, reduced over every pixel of a
// chunk of images, then summed horizontally. Details (slots, over-reads, chunks) are below.
// * Stride (sh, sw): the padded copy stores each row's columns grouped by phase (j mod sw), so that
//   tap s of outputs q, q + 1, ... reads consecutive elements of phase s mod sw (see Regrouped);
//   output row p starts at padded row p sh. Forward and backward weight then run the same tiles.
// * Backward data at stride 1 is the same kernel run on dy padded by (R-1-ph, S-1-pw) with the
//   flipped, transposed kernel. At stride (sh, sw) it splits into sh sw phases: the dx pixels with
//   (h + ph) mod sh = a and (w + pw) mod sw = b receive only the taps r = a + sh u, s = b + sw v, and
//   over those they are a stride-1 convolution of dy with that sub-kernel (flipped, transposed);
//   each phase is computed into a buffer and scattered into dx (see bwd_data_strided_with).
// * A 1x1 kernel at a stride without padding runs at stride 1 on the subsampled image (forward
//   and backward weight; its backward data is the phase split above, with one phase).
// * At stride 1 (also each phase of a strided backward data) a "flat" grid is used where it needs
//   fewer vectors, as on small maps (10 or 5 wide): a vector holds 8 consecutive outputs on the
//   padded width, across the row end, rather than 8 of one row (see Grid).
// * On small maps at stride 1 the images can go into the lanes instead ("image lanes"): 8 images
//   copied pixel by pixel, a vector is one pixel of 8 images and every lane is valid; chosen by a
//   cost model where it pays (small maps; backward weight of 3x3 kernels; see LaneLayout::pays).
// OpenMP splits the batch across the threads (equal contiguous ranges); each thread accumulates
// its own dw and db (ThreadPartials), summed at the end. Padded buffers are per thread and call,
// from the CPU allocator's cache (a fresh std::vector was page-faulted in on every call), zeroed
// once: their borders are never written. The vector type Vec<T> is in kernels/cpu/simd.h.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/env.h"
#include "core/error.h"
#include "core/parallel.h"
#include "kernels/conv.h"
#include "kernels/cpu/simd.h"

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

// ---- slots and chunks ----------------------------------------------------------------------------
// The image (padded to Hi x Wi) is a stack of planes with channel stride cs = Hi Wi. Output pixel
// (p, q) reads input element (p + r) Wi + q + s for tap (r, s): a fixed tap shifts the whole row
// (at stride (sh, sw), element p sh Wi + q + off[t] of the regrouped planes, see Regrouped).
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
// The output grid the slots cover: P x Q outputs per image, output row p reading from input offset
// p row_step (Wi at stride 1, sh Wi at stride sh). In row mode a slot holds pixels of one output
// row. Small maps waste lanes that way (a 10-wide row fills 10 of 16 lanes, a 5-wide one 5 of 8),
// so at stride 1 a "flat" grid can be used instead: the outputs are numbered f = p Wi + q over the
// padded width, q < Wi, and a slot is kLanes consecutive f. For a fixed tap they read consecutive
// input elements again (f + off[t]), across the row end; the lanes with q >= Q are junk (10 of 12
// lanes used for 10-wide rows). Their valid lanes form runs, each stored to its own place.
struct Grid {
  int64_t P, Q, row_step;
  bool flat = false;
  int64_t flat_stride = 0;  // flat mode, for backward weight: image b's dy on the flat grid starts at b flat_stride
  int64_t row_slots(int64_t lanes) const { return P * ((Q + lanes - 1) / lanes); }
  int64_t flat_slots(int64_t lanes) const { return ((P - 1) * row_step + Q + lanes - 1) / lanes; }
  int64_t slots_per_image(int64_t lanes) const { return flat ? flat_slots(lanes) : row_slots(lanes); }
  // Flat when it needs fewer slots (only at stride 1, where row_step is the padded width).
  static Grid choose(int64_t P, int64_t Q, int64_t row_step, bool unit_stride, int64_t lanes) {
    Grid g{P, Q, row_step};
    g.flat = unit_stride && g.flat_slots(lanes) < g.row_slots(lanes);
    return g;
  }
};

struct Slots {
  std::vector<int64_t> in, out, n;  // every slot, then padding slots (n = 0) up to a multiple
  // A slot with n < kLanes stores its valid lanes as runs: run_lane / run_len / run_out of
  // runs [run_first[v], run_first[v + 1]) (row mode: one run of its first n lanes).
  std::vector<int64_t> run_first, run_lane, run_len, run_out;
  // The same real slots split into full and short ones (for loops that must not branch). In flat
  // mode every slot is "full" here, with full_out its position on the flat dy grid (whose junk
  // columns are zero, so junk lanes add nothing to dw).
  std::vector<int64_t> full_in, full_out, short_in, short_out, short_n;
  bool overrun = false;  // some slot (short, flat or padding) reads past its last valid element
  // Image b starts at b in_stride in the input and at b out_stride in the output.
  Slots(const Grid& g, int64_t lanes, int64_t multiple, int64_t images, int64_t in_stride, int64_t out_stride) {
    const size_t count = static_cast<size_t>(images * g.slots_per_image(lanes) + multiple);
    in.reserve(count), out.reserve(count), n.reserve(count), full_in.reserve(count), full_out.reserve(count);
    run_first.push_back(0);
    auto add_run = [&](int64_t lane, int64_t len, int64_t o) {
      run_lane.push_back(lane), run_len.push_back(len), run_out.push_back(o);
    };
    for (int64_t b = 0; b < images; ++b) {
      if (g.flat) {
        const int64_t end = (g.P - 1) * g.row_step + g.Q;  // one past the last valid f
        for (int64_t f0 = 0; f0 < end; f0 += lanes) {
          int64_t valid = 0, first_out = -1;
          for (int64_t i = 0; i < lanes;) {  // the runs: valid lanes of one output row each
            const int64_t f = f0 + i, p = f / g.row_step, q = f % g.row_step;
            if (f >= end || q >= g.Q) { ++i; continue; }
            const int64_t len = std::min({lanes - i, g.Q - q, end - f}), o = b * out_stride + p * g.Q + q;
            if (first_out < 0) first_out = o;
            add_run(i, len, o);
            valid += len, i += len;
          }
          // All lanes valid: one run (or, when Q == Wi, runs that continue each other in the
          // output), stored as a whole vector at first_out; its runs are not needed.
          if (valid == lanes) run_lane.resize(run_first.back()), run_len.resize(run_first.back()), run_out.resize(run_first.back());
          in.push_back(b * in_stride + f0), out.push_back(first_out), n.push_back(valid);
          run_first.push_back(static_cast<int64_t>(run_lane.size()));
          full_in.push_back(b * in_stride + f0), full_out.push_back(b * g.flat_stride + f0);
        }
        overrun = true;
        continue;
      }
      for (int64_t p = 0; p < g.P; ++p)
        for (int64_t q0 = 0; q0 < g.Q; q0 += lanes) {
          const int64_t i = b * in_stride + p * g.row_step + q0, o = b * out_stride + p * g.Q + q0;
          const int64_t len = std::min(lanes, g.Q - q0);
          in.push_back(i), out.push_back(o), n.push_back(len);
          if (len == lanes) {
            full_in.push_back(i), full_out.push_back(o);
          } else {
            short_in.push_back(i), short_out.push_back(o), short_n.push_back(len);
            add_run(0, len, o);
          }
          run_first.push_back(static_cast<int64_t>(run_lane.size()));
        }
    }
    overrun = overrun || g.Q % lanes != 0 || n.size() % multiple != 0;
    while (n.size() % multiple != 0) {  // computed, never stored
      in.push_back(0), out.push_back(0), n.push_back(0);
      run_first.push_back(static_cast<int64_t>(run_lane.size()));
    }
  }
  // Image lanes (see "image lanes" below): lane b of a vector is image b of a group of kLanes
  // images stored pixel by pixel, so a slot is one output pixel (p, q) with every lane valid. It
  // reads from (p Wi + q) lanes and lands at (p Q + q) lanes; lane group l starts at l in_stride
  // in the input and at l out_stride in the output.
  struct ImageLanes {};
  Slots(ImageLanes, int64_t P, int64_t Q, int64_t Wi, int64_t lanes, int64_t multiple, int64_t groups,
        int64_t in_stride, int64_t out_stride) {
    run_first.push_back(0);
    for (int64_t l = 0; l < groups; ++l)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          const int64_t i = l * in_stride + (p * Wi + q) * lanes, o = l * out_stride + (p * Q + q) * lanes;
          in.push_back(i), out.push_back(o), n.push_back(lanes), full_in.push_back(i), full_out.push_back(o);
          run_first.push_back(0);
        }
    while (n.size() % multiple != 0) in.push_back(0), out.push_back(0), n.push_back(0), run_first.push_back(0);
  }
  int64_t size() const { return static_cast<int64_t>(n.size()); }
};

// Images are processed in chunks of up to B. The batch is cut into T equal contiguous ranges
// (T = the number of threads, so their work differs by one image at most), each walked in
// chunks; slots(nb) are the slots of a chunk of nb images, built only for the sizes that occur.
struct Chunks {
  int64_t N, B, T;
  std::vector<std::unique_ptr<Slots>> by_size;  // [nb - 1]
  Chunks(int64_t N_, int64_t B_, bool parallel, const Grid& g, int64_t lanes, int64_t multiple, int64_t in_stride,
         int64_t out_stride)
      : N(N_), B(std::max<int64_t>(1, std::min(B_, N_))), T(parallel ? omp_get_max_threads() : 1), by_size(B) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t len = N * (t + 1) / T - N * t / T;
      for (int64_t nb : {len >= B ? B : int64_t(0), len % B})
        if (nb > 0 && !by_size[nb - 1])
          by_size[nb - 1] = std::make_unique<Slots>(g, lanes, multiple, nb, in_stride, out_stride);
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

#if defined(__AVX2__) && defined(__FMA__)
// even[i] = in[2 i], odd[i] = in[2 i + 1] for i < 8.
inline void deinterleave16(const float* in, float* even, float* odd) {
  const __m256 a = _mm256_loadu_ps(in), b = _mm256_loadu_ps(in + 8);
  // Within each 128-bit half: [a0 a2 b0 b2 | a4 a6 b4 b6]; then the 64-bit pieces in order 0 2 1 3.
  const __m256 ev = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), od = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
  _mm256_storeu_ps(even, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8)));
  _mm256_storeu_ps(odd, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), 0xD8)));
}
constexpr bool kDeinterleave = true;
#else
inline void deinterleave16(const float*, float*, float*) {}
constexpr bool kDeinterleave = false;
#endif

// The layout of a padded image for stride (sh, sw): each row of Wi padded columns is stored with
// its columns grouped by phase, the columns j = 0, sw, 2 sw, ... first, then j = 1, 1 + sw, ...
// (at sw = 1 the row as it is). Output (p, q) reads padded column q sw + s for tap s, which is
// element q + s / sw of phase s mod sw: consecutive q read consecutive elements, as at stride 1.
// Rows stay in place: output row p reads padded row p sh + r, at offset (p sh + r) Wi.
struct Regrouped {
  int64_t Wi, R, S, sh, sw, top, left;  // the image is padded by (top, left) (negative: cropped)
  std::vector<int64_t> start;           // phase j's first position in a stored row (j <= sw)
  std::vector<int64_t> off;             // tap t = r S + s -> r Wi + start[s mod sw] + s / sw
  // For copy: the padded columns [j0, j1) that hold image columns; per phase its first column >= j0
  // and where that lands (so that no division runs per row).
  int64_t j0, j1;
  std::vector<int64_t> first, at;
  Regrouped(int64_t W, int64_t R_, int64_t S_, int64_t sh_, int64_t sw_, int64_t top_, int64_t left_)
      : Wi(W + 2 * left_), R(R_), S(S_), sh(sh_), sw(sw_), top(top_), left(left_), start(static_cast<size_t>(sw_) + 1, 0),
        off(static_cast<size_t>(R_ * S_)), j0(std::max<int64_t>(0, left_)), j1(std::min(Wi, W + left_)) {
    for (int64_t j = 0; j < sw; ++j) start[j + 1] = start[j] + (Wi - j + sw - 1) / sw;  // its column count
    for (int64_t r = 0; r < R; ++r)
      for (int64_t s = 0; s < S; ++s) off[r * S + s] = r * Wi + start[s % sw] + s / sw;
    for (int64_t ph = 0; ph < std::min(sw, S); ++ph) {
      first.push_back(j0 + ((ph - j0 % sw) + sw) % sw);
      at.push_back(start[ph] + first.back() / sw);
    }
  }

  // dst[c][i][stored position of column j] = src[c][i - top][j - left] for the (i, j) inside both,
  // dst planes Hd x Wi, src planes Hs x (Wi - 2 left). Only what a tap reads is copied: at a stride
  // above the kernel size, rows i mod sh >= R and phases >= S are never read. Positions not copied
  // are not touched: they stay zero from the allocation (the padding).
  template <class T>
  void copy(const T* src, int64_t C, int64_t Hs, T* dst, int64_t Hd) const {
    const int64_t a = j0, e = j1;  // locals: the row loops below must not reload members
    if (sw == 1) {
      copy_rows(src, C, Hs, dst, Hd, [a, e](const T* s, T* d) {
        for (int64_t j = a; j < e; ++j) d[j] = s[j];  // rows are short (8..34): a loop beats memcpy
      });
    } else if (sw == 2 && S >= 2) {  // both phases of stride 2 in one pass
      const int64_t odd = start[1];    // column j is stored at (j odd ? odd : 0) + j / 2
      copy_rows(src, C, Hs, dst, Hd, [a, e, odd](const T* s, T* d) {
        int64_t j = a;
        if constexpr (std::is_same_v<T, float> && kDeinterleave) {
          // 16 columns at a time: the 8 of j's phase go to j / 2 of that phase, the 8 of the
          // other phase to (j + 1) / 2 of it (a 16-wide row of 8 pairs was a third scalar before).
          for (; j + 16 <= e; j += 16)
            deinterleave16(s + j, d + (j % 2 ? odd : 0) + j / 2, d + (j % 2 ? 0 : odd) + (j + 1) / 2);
        }
        // The rest (float64, a row's tail) in pairs: an odd column first, then even-odd pairs.
        if (j < e && j % 2 == 1) d[odd + j / 2] = s[j], ++j;
        for (; j + 1 < e; j += 2) d[j / 2] = s[j], d[odd + j / 2] = s[j + 1];
        if (j < e) d[j / 2] = s[j];
      });
    } else {
      copy_rows(src, C, Hs, dst, Hd, [this, e](const T* s, T* d) {
        for (size_t ph = 0; ph < first.size(); ++ph) {
          T* dp = d + at[ph];
          for (int64_t j = first[ph]; j < e; j += sw) *dp++ = s[j];
        }
      });
    }
  }

 private:
  // row(s, d) for every row i that a tap reads: s[j] is padded column j of the source row, d the
  // stored row.
  template <class T, class Row>
  void copy_rows(const T* src, int64_t C, int64_t Hs, T* dst, int64_t Hd, Row row) const {
    const int64_t Ws = Wi - 2 * left, i0 = std::max<int64_t>(0, top), i1 = std::min(Hd, Hs + top);
    const bool all_rows = sh <= R;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = i0; i < i1; ++i)
        if (all_rows || i % sh < R) row(src + (c * Hs + i - top) * Ws - left, dst + (c * Hd + i) * Wi);
  }
};

// A buffer of whole images from the CPU allocator, whose cache hands the same pages back next step
// (a fresh std::vector this size would be page-faulted in on every call).
template <class T>
class ImageBuffer {
 public:
  explicit ImageBuffer(size_t n) : n_(n), p_(static_cast<T*>(cpu_allocator().allocate(n * sizeof(T)))) {}
  ~ImageBuffer() { cpu_allocator().deallocate(p_, n_ * sizeof(T)); }
  ImageBuffer(const ImageBuffer&) = delete;
  ImageBuffer& operator=(const ImageBuffer&) = delete;
  T* data() const { return p_; }

 private:
  size_t n_;
  T* p_;
};

// A per-thread input buffer: images x C planes of cs elements plus kLanes of slack for the
// vector over-read, zero where nothing is copied (the padding). Empty when not needed.
template <class T>
class PlaneBuffer : public ImageBuffer<T> {
 public:
  PlaneBuffer(bool needed, int64_t images, int64_t C, int64_t cs)
      : ImageBuffer<T>(needed ? static_cast<size_t>(images * C * cs + Vec<T>::kLanes) : 0) {
    if (needed) std::fill_n(this->data(), images * C * cs + Vec<T>::kLanes, T(0));
  }
};

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
// MINIDL_CPU_AVX512=0 forces the AVX2 tiles (to test them on a machine that has AVX-512).
bool has_avx512() {
  static const bool ok = [] {
    const char* env = env_value("MINIDL_CPU_AVX512");
    if (env && std::string(env) == "0") return false;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  }();
  return ok;
}
#endif

// ---- drivers ---------------------------------------------------------------------------------------
// Images per chunk for the forward-style passes: the fewest that make the slot count a multiple
// of NV (8x8 images have 8 slots each: 3 of them fill 24 slots).
int64_t tile_chunk(int64_t slots, int64_t NV) {
  int64_t g = NV, b = slots;
  while (b != 0) g = std::exchange(b, g % b);  // gcd(NV, slots)
  return NV / g;
}

// The convolution at stride (sh, sw) of `in` (N images of C planes H x W) padded by (top, left) on
// each side (negative: cropped) into Hi x Wi, with the kernel get(g, m, ci, t) of M x C/G x R x S,
// giving out (N images of M planes P x Q, P = (Hi - R) / sh + 1, Q = (Wi - S) / sw + 1). Forward
// (any stride) and backward data at stride 1.
template <class Tiles, class T, class Get>
void conv_direct_with(const T* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t R,
                      int64_t S, int64_t sh, int64_t sw, int64_t G, int64_t M, Get get, const T* bias, T* out) {
  const int64_t Cg = C / G, Mg = M / G, RS = R * S, Hi = H + 2 * top, Wi = W + 2 * left, cs = Hi * Wi;
  const int64_t P = (Hi - R) / sh + 1, Q = (Wi - S) / sw + 1, PQ = P * Q;
  const bool pad = top != 0 || left != 0 || sw > 1;  // the planes must be copied (padded, regrouped)
  const Regrouped rg(W, R, S, sh, sw, top, left);
  constexpr int64_t kL = Vec<T>::kLanes;
  const bool parallel = N * M * Cg * RS * PQ > kParallelMinMacs;
  const Grid grid = Grid::choose(P, Q, sh * Wi, sh == 1 && sw == 1, kL);
  const Chunks ch(N, tile_chunk(grid.slots_per_image(kL), Tiles::NV), parallel, grid, kL, Tiles::NV, C * cs, M * PQ);
  std::vector<std::vector<T>> packed(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g)
    packed[g] =
        pack_weights<T>(Tiles::MR, Mg, Cg, RS, [&](int64_t m, int64_t c, int64_t t) { return get(g, m, c, t); });
#pragma omp parallel if (parallel)
  {
    const PlaneBuffer<T> buf(pad || ch.overrun(), ch.B, C, cs);
    ch.for_my_ranges([&](int64_t begin, int64_t end) {
      for (int64_t n0 = begin; n0 < end; n0 += ch.B) {
        const int64_t nb = std::min(ch.B, end - n0);
        const Slots& sl = ch.slots(nb);
        const T* src = in + n0 * C * H * W;
        // Read in place only while more of the tensor follows than a vector can run past.
        const bool copy = pad || (sl.overrun && (N - n0 - nb) * C * H * W < kL);
        if (copy)
          for (int64_t b = 0; b < nb; ++b)
            rg.copy(src + b * C * H * W, C, H, buf.data() + b * C * cs, Hi);
        const T* planes = copy ? buf.data() : src;  // without padding, H x W == Hi x Wi
        for (int64_t g = 0; g < G; ++g)
          Tiles::planes(PlanesArgs<T>{planes + g * Cg * cs, cs, rg.off.data(), RS, Cg, Mg, packed[g].data(),
                                      bias ? bias + g * Mg : nullptr, out + (n0 * M + g * Mg) * PQ, PQ, &sl});
      }
    });
  }
}

// ---- image lanes ----------------------------------------------------------------------------------
// On small maps the pixel grids above leave lanes empty: a 5 x 5 output padded to 7 wide fills 25 of
// the 40 lanes of its flat grid, a 12-wide one 144 of 176. At stride 1 the images can go into the
// lanes instead: a group of kL images is copied pixel by pixel, element (c, i, j) of image b at
// ((c Hi + i) Wi + j) kL + b (padded as before), so one vector is one pixel of kL images, tap (r, s)
// of output (p, q) is the vector at (p + r) Wi + q + s, and every lane is valid. The same tiles run
// on it (Slots::ImageLanes); outputs come out in the same layout and are copied back per image.
// The price is those two copies (the padded copy exists anyway) and lanes left empty when a thread's
// images are not a multiple of kL, so a cost model picks it per pass (LaneLayout::pays). The
// backward weight gains even on full grids: its tiles reduce over a chunk's pixels, and with lanes
// a chunk holds more pixels per horizontal sum, with no partial slots.
// MINIDL_CONV_LANES (auto | always | never; cpu::set_conv_lanes) overrides the model.
std::atomic<int>& lanes_mode() {
  static std::atomic<int> mode{[] {
    const char* env = env_value("MINIDL_CONV_LANES");
    const std::string v = env ? env : "auto";
    MINIDL_CHECK(v == "auto" || v == "always" || v == "never", "MINIDL_CONV_LANES must be auto, always or never, got '", v,
                 "'");
    return static_cast<int>(v == "always" ? ConvLanes::Always : v == "never" ? ConvLanes::Never : ConvLanes::Auto);
  }()};
  return mode;
}

struct LaneLayout {
  int64_t Hi, Wi, P, Q, lanes;
  int64_t plane() const { return Hi * Wi * lanes; }  // channel stride of the copied input
  // tap t = r S + s of an R x S kernel -> its offset
  std::vector<int64_t> offsets(int64_t R, int64_t S) const {
    std::vector<int64_t> off(static_cast<size_t>(R * S));
    for (int64_t t = 0; t < R * S; ++t) off[t] = ((t / S) * Wi + t % S) * lanes;
    return off;
  }
  // Whether image lanes pay at stride 1, for N images over T threads, with macs multiply-adds and
  // copied elements (the input and output planes that lanes copy) per image. Each way's cost in
  // multiply-adds: the pixel grid macs / (the fraction of lanes it fills); image lanes
  // a macs / (its fill) + k copied. a < 1: on a full lane the lane tiles run faster than the grid's
  // (no partial slots; backward weight reduces over more pixels per chunk); k: the copies and the
  // larger footprint. Fitted to kernel timings on Zen 4 (results/bench-ops/20261130-lanes-kernels):
  // forward-style passes a = 0.9, k = 18 (lanes win on 5x5 to 12x12 maps and a 28-wide one,
  // lose on 8x8, 16x16 and 32x32); backward weight a = 0.8, k = 9 (lanes win for 3x3 kernels with
  // 16 and more channels at any map size, lose for 1x1, depthwise and 3-channel inputs).
  // A lane group's copies (copied x lanes elements of elem_bytes) are scratch kept while the tiles
  // run, and a thread holds a chunk of up to 8 groups: past kMaxGroupBytes a group (8 MB, far past
  // a core's L2) neither stays in cache nor stays small (64 channels at 224 x 224 would take
  // ~200 MB a group), so lanes are not used; under it a thread's chunk stays under 64 MB (the
  // reference models' largest group, 24 channels on 32x32 in minidl50k, is 1.7 MB).
  struct Cost {
    double a, k;
  };
  static constexpr Cost kForward{0.9, 18.0}, kWeight{0.8, 9.0};
  static constexpr int64_t kMaxGroupBytes = int64_t(8) << 20;
  static bool pays(Cost cost, int64_t N, int64_t T, int64_t P, int64_t Q, int64_t Wi, int64_t lanes, int64_t macs,
                   int64_t copied, int64_t elem_bytes) {
    const auto mode = static_cast<ConvLanes>(lanes_mode().load());
    if (mode != ConvLanes::Auto) return mode == ConvLanes::Always;
    if (copied * lanes * elem_bytes > kMaxGroupBytes) return false;
    const Grid g = Grid::choose(P, Q, Wi, true, lanes);
    const double grid_fill = static_cast<double>(P * Q) / static_cast<double>(g.slots_per_image(lanes) * lanes);
    const int64_t per_thread = (N + T - 1) / T, groups = (per_thread + lanes - 1) / lanes;
    const double lane_fill = static_cast<double>(per_thread) / static_cast<double>(groups * lanes);
    const double m = static_cast<double>(macs);
    return cost.a * m / lane_fill + cost.k * static_cast<double>(copied) < m / grid_fill;
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

template <class T, class Get>
void conv_direct(const T* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t R,
                 int64_t S, int64_t sh, int64_t sw, int64_t G, int64_t M, Get get, const T* bias, T* out) {
  const int64_t Hi = H + 2 * top, Wi = W + 2 * left, P = (Hi - R) / sh + 1, Q = (Wi - S) / sw + 1;
  const bool parallel = N * M * (C / G) * R * S * P * Q > kParallelMinMacs;
  const bool lanes = sh == 1 && sw == 1 &&
                     LaneLayout::pays(LaneLayout::kForward, N, parallel ? omp_get_max_threads() : 1, P, Q, Wi, Vec<T>::kLanes,
                                      M * (C / G) * R * S * P * Q, C * Hi * Wi + M * P * Q, sizeof(T));
#if MINIDL_CONV_AVX512_TILES
  if (has_avx512()) {
    if (lanes) return conv_lanes_with<Avx512Tiles>(in, N, C, H, W, top, left, R, S, G, M, get, bias, out, parallel);
    return conv_direct_with<Avx512Tiles>(in, N, C, H, W, top, left, R, S, sh, sw, G, M, get, bias, out);
  }
#endif
  if (lanes) return conv_lanes_with<Avx2Tiles>(in, N, C, H, W, top, left, R, S, G, M, get, bias, out, parallel);
  conv_direct_with<Avx2Tiles>(in, N, C, H, W, top, left, R, S, sh, sw, G, M, get, bias, out);
}

// A 1x1 convolution at stride (sh, sw) without padding reads only the pixels (p sh, q sw): it is the
// stride-1 convolution of the subsampled image, copied once and compactly (the general path would
// keep the padded planes, four times the memory at stride 2).
bool subsampled_1x1(const Conv2dShape& s) {
  return s.R == 1 && s.S == 1 && s.pad_h == 0 && s.pad_w == 0 && (s.stride_h > 1 || s.stride_w > 1);
}
Conv2dShape as_subsampled(Conv2dShape s) {
  s.H = s.P, s.W = s.Q, s.stride_h = s.stride_w = 1;
  return s;
}
// xs[n, c, p, q] = x[n, c, p sh, q sw]
template <class T>
void subsample(const Conv2dShape& s, const T* x, T* xs) {
#pragma omp parallel for schedule(static) if (streaming_pays<T>(s.N * s.C * s.P * s.Q, 2))
  for (int64_t nc = 0; nc < s.N * s.C; ++nc)
    for (int64_t p = 0; p < s.P; ++p) {
      const T* src = x + (nc * s.H + p * s.stride_h) * s.W;
      T* dst = xs + (nc * s.P + p) * s.Q;
      for (int64_t q = 0; q < s.Q; ++q) dst[q] = src[q * s.stride_w];
    }
}

template <class T>
void fwd_direct(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (subsampled_1x1(s)) {
    const ImageBuffer<T> xs(static_cast<size_t>(s.N * s.C * s.P * s.Q));
    subsample(s, x, xs.data());
    return fwd_direct(as_subsampled(s), xs.data(), w, bias, y);
  }
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  conv_direct(x, s.N, s.C, s.H, s.W, s.pad_h, s.pad_w, s.R, s.S, s.stride_h, s.stride_w, s.groups, s.K,
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
  conv_direct(dy, s.N, s.K, s.P, s.Q, s.R - 1 - s.pad_h, s.S - 1 - s.pad_w, s.R, s.S, 1, 1, s.groups, s.C, flipped,
              static_cast<const T*>(nullptr), dx);
}

// Backward data at stride (sh, sw), by phases. In padded coordinates (h' = h + ph, w' = w + pw)
//   dx[c, h', w'] = sum_{k, r, s} w[k, c, r, s] dy[k, (h' - r) / sh, (w' - s) / sw]   (exact divisions only).
// For h' = sh i + a, w' = sw j + b only the taps r = a + sh u, s = b + sw v (u < Ua, v < Ub) divide:
//   dx[c, sh i + a, sw j + b] = sum_{k, u, v} w[k, c, a + sh u, b + sw v] dy[k, i - u, j - v],
// a stride-1 convolution of dy with phase (a, b)'s sub-kernel, flipped and transposed. All phases
// read one copy of dy padded by the largest sub-kernel's (U - 1, V - 1) (phase (0, 0)'s): output
// (i, j) of the phase, tap (u', v') of the flipped sub-kernel, reads padded element
// (i + u' + U - Ua, j + v' + V - Ub). Each phase computes only its (i, j) that land inside dx
// (a window of at most P + U - 1 by Q + V - 1; outside it dy is zero) into a small per-chunk
// buffer that is scattered into dx. A phase without taps (a >= R or b >= S, e.g. the odd pixels
// of a 1x1 stride-2 convolution) and pixels past every phase's reach stay zero.
template <class Tiles, class T>
void bwd_data_strided_with(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t sh = s.stride_h, sw = s.stride_w, G = s.groups, Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  const int64_t U = (s.R + sh - 1) / sh, V = (s.S + sw - 1) / sw, HW = s.H * s.W;
  const Regrouped pad(s.Q, 1, 1, 1, 1, U - 1, V - 1);  // a plain padded copy of dy
  const int64_t Hd = s.P + 2 * (U - 1), Wd = pad.Wi, cs = Hd * Wd;
  constexpr int64_t kL = Vec<T>::kLanes;
  const bool parallel = conv_macs(s) > kParallelMinMacs;
  // Images per chunk, the same for every phase.
  const int64_t B = tile_chunk(Grid::choose(s.P, s.Q, Wd, true, kL).slots_per_image(kL), Tiles::NV);
  struct Phase {
    int64_t a, b, taps, i0, j0, Pa, Qa;  // z[i, j] of this phase is output (i0 + i, j0 + j)
    std::vector<int64_t> off;
    std::vector<std::vector<T>> packed;  // per group
    std::unique_ptr<Chunks> ch;
  };
  std::vector<Phase> phases;
  int64_t zsize = 0;
  for (int64_t a = 0; a < std::min(sh, s.R); ++a)
    for (int64_t b = 0; b < std::min(sw, s.S); ++b) {
      const int64_t Ua = (s.R - a + sh - 1) / sh, Ub = (s.S - b + sw - 1) / sw;
      // Output (i, j) lands on h = sh i + a - ph, w = sw j + b - pw: the i, j where that is inside dx.
      const int64_t i0 = std::max<int64_t>(0, (s.pad_h - a + sh - 1) / sh);
      const int64_t i1 = std::min(s.P + Ua - 1, (s.H + s.pad_h - a + sh - 1) / sh);
      const int64_t j0 = std::max<int64_t>(0, (s.pad_w - b + sw - 1) / sw);
      const int64_t j1 = std::min(s.Q + Ub - 1, (s.W + s.pad_w - b + sw - 1) / sw);
      if (i1 <= i0 || j1 <= j0) continue;
      Phase ph{a, b, Ua * Ub, i0, j0, i1 - i0, j1 - j0, std::vector<int64_t>(static_cast<size_t>(Ua * Ub)), {}, nullptr};
      for (int64_t t = 0; t < Ua * Ub; ++t) ph.off[t] = (i0 + t / Ub + U - Ua) * Wd + j0 + t % Ub + V - Ub;
      for (int64_t g = 0; g < G; ++g)
        ph.packed.push_back(pack_weights<T>(Tiles::MR, Cg, Kg, Ua * Ub, [&](int64_t c, int64_t k, int64_t t) {
          const int64_t r = a + sh * (Ua - 1 - t / Ub), q = b + sw * (Ub - 1 - t % Ub);
          return w[((g * Kg + k) * Cg + c) * RS + r * s.S + q];
        }));
      ph.ch = std::make_unique<Chunks>(s.N, B, parallel, Grid::choose(ph.Pa, ph.Qa, Wd, true, kL), kL, Tiles::NV,
                                       s.K * cs, s.C * ph.Pa * ph.Qa);
      zsize = std::max(zsize, B * s.C * ph.Pa * ph.Qa);
      phases.push_back(std::move(ph));
    }
  const Chunks ch(s.N, B, parallel, Grid{s.P, s.Q, Wd}, kL, Tiles::NV, s.K * cs, 0);  // walks the images
#pragma omp parallel if (parallel)
  {
    const PlaneBuffer<T> buf(true, ch.B, s.K, cs);
    const ImageBuffer<T> z(static_cast<size_t>(zsize));  // every element read is written first
    ch.for_my_ranges([&](int64_t begin, int64_t end) {
      for (int64_t n0 = begin; n0 < end; n0 += ch.B) {
        const int64_t nb = std::min(ch.B, end - n0);
        for (int64_t n = 0; n < nb; ++n)
          pad.copy(dy + (n0 + n) * s.K * s.P * s.Q, s.K, s.P, buf.data() + n * s.K * cs, Hd);
        T* dxn = dx + n0 * s.C * HW;
        std::fill(dxn, dxn + nb * s.C * HW, T(0));
        for (const Phase& ph : phases) {
          const int64_t PQa = ph.Pa * ph.Qa;
          for (int64_t g = 0; g < G; ++g)
            Tiles::planes(PlanesArgs<T>{buf.data() + g * Kg * cs, cs, ph.off.data(), ph.taps, Kg, Cg,
                                        ph.packed[g].data(), nullptr, z.data() + g * Cg * PQa, PQa, &ph.ch->slots(nb)});
          for (int64_t nc = 0; nc < nb * s.C; ++nc) {
            const T* zp = z.data() + nc * PQa;
            T* d = dxn + nc * HW;
            for (int64_t i = 0; i < ph.Pa; ++i) {
              const int64_t row = (sh * (ph.i0 + i) + ph.a - s.pad_h) * s.W + sw * ph.j0 + ph.b - s.pad_w;
              for (int64_t j = 0; j < ph.Qa; ++j) d[row + sw * j] = zp[i * ph.Qa + j];  // (h, w) of z[i, j]
            }
          }
        }
      }
    });
  }
}

template <class T>
void bwd_data_strided(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
#if MINIDL_CONV_AVX512_TILES
  if (has_avx512()) return bwd_data_strided_with<Avx512Tiles>(s, dy, w, dx);
#endif
  bwd_data_strided_with<Avx2Tiles>(s, dy, w, dx);
}

template <class Tiles, class T>
void bwd_weight_with(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, PQ = s.P * s.Q, CRS = Cg * RS;
  const bool pad = s.pad_h > 0 || s.pad_w > 0 || s.stride_w > 1;  // x must be copied (padded, regrouped)
  const int64_t Hi = s.H + 2 * s.pad_h, Wi = s.W + 2 * s.pad_w, cs = Hi * Wi;
  // Input row j = c RS + t of a group (channel c, tap t) starts at c cs + off[t]; dw[k][j] is its
  // weight, so tiles run over consecutive j, across channels (1x1 kernels get 3 channels a tile).
  const Regrouped rg(s.W, s.R, s.S, s.stride_h, s.stride_w, s.pad_h, s.pad_w);
  std::vector<int64_t> row(static_cast<size_t>(CRS));
  for (int64_t j = 0; j < CRS; ++j) row[j] = (j / RS) * cs + rg.off[j % RS];
  // Small images: several per chunk (at least ~128 slots), so each tile's horizontal sums are amortized.
  constexpr int64_t kL = Vec<T>::kLanes;
  Grid grid = Grid::choose(s.P, s.Q, s.stride_h * Wi, s.stride_h == 1 && s.stride_w == 1, kL);
  // On a flat grid the tiles read dy on that grid too: planes of P x Wi (its junk columns and kL of
  // slack zero, so junk lanes add nothing); else dy's own P x Q planes.
  const int64_t dps = grid.flat ? s.P * Wi + kL : PQ;
  grid.flat_stride = s.K * dps;
  const int64_t per_image = grid.slots_per_image(kL);
  const bool parallel = conv_macs(s) > kParallelMinMacs;
  const Chunks ch(s.N, std::max<int64_t>(1, std::min<int64_t>(16, 128 / per_image)), parallel, grid, kL, 1, s.C * cs,
                  s.K * PQ);
  const bool overrun = ch.overrun();
  ThreadPartials<T> dw_parts(s.K * CRS);
  ThreadPartials<double> db_parts(s.K);
#pragma omp parallel if (parallel)
  {
    std::vector<T>& dwt = dw_parts.mine();
    std::vector<double>& dbt = db_parts.mine();
    const PlaneBuffer<T> xp(pad || overrun, ch.B, s.C, cs);
    const PlaneBuffer<T> dyp(overrun, ch.B, s.K, dps);
    ch.for_my_ranges([&](int64_t begin, int64_t end) {
      for (int64_t n0 = begin; n0 < end; n0 += ch.B) {
        const int64_t nb = std::min(ch.B, end - n0);
        const Slots& sl = ch.slots(nb);
        const T* xn = x + n0 * s.C * s.H * s.W;
        const T* dyn = dy + n0 * s.K * PQ;
        // Read in place only while more of the tensor follows than a vector can run past.
        const int64_t after = s.N - n0 - nb;
        const bool copy_x = pad || (sl.overrun && after * s.C * s.H * s.W < kL);
        const bool copy_dy = grid.flat || (sl.overrun && after * s.K * PQ < kL);
        if (copy_x)
          for (int64_t b = 0; b < nb; ++b)
            rg.copy(xn + b * s.C * s.H * s.W, s.C, s.H, xp.data() + b * s.C * cs, Hi);
        if (grid.flat)
          for (int64_t k = 0; k < nb * s.K; ++k)
            for (int64_t p = 0; p < s.P; ++p) std::copy_n(dyn + k * PQ + p * s.Q, s.Q, dyp.data() + k * dps + p * Wi);
        else if (copy_dy)
          std::copy(dyn, dyn + nb * s.K * PQ, dyp.data());
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
          Tiles::dw(DwArgs<T>{a + g * Kg * dps, dps, Kg, in + g * Cg * cs, row.data(), CRS, &sl,
                              dwt.data() + g * Kg * CRS});
      }
    });
  }
  dw_parts.sum_into(dw);
  if (db) db_parts.sum_into(db);
}

// Backward weight at stride 1 on image lanes: x (padded) and dy are both copied pixel by pixel in
// groups of kL images, and the tiles reduce over every pixel of a chunk's groups.
template <class Tiles, class T>
void bwd_weight_lanes_with(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db, bool parallel) {
  constexpr int64_t kL = Vec<T>::kLanes;
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S, PQ = s.P * s.Q, CRS = Cg * RS;
  const LaneLayout L{s.H + 2 * s.pad_h, s.W + 2 * s.pad_w, s.P, s.Q, kL};
  const int64_t cs = L.plane(), in_group = s.C * cs, dps = PQ * kL, out_group = s.K * dps;
  const std::vector<int64_t> off = L.offsets(s.R, s.S);
  const LaneCopy lc(s.H, s.W, s.pad_h, s.pad_w, L);
  std::vector<int64_t> row(static_cast<size_t>(CRS));
  for (int64_t j = 0; j < CRS; ++j) row[j] = (j / RS) * cs + off[j % RS];
  // Lane groups per chunk: enough pixels (~128) that each tile's horizontal sums are amortized.
  const int64_t LG = std::max<int64_t>(1, std::min<int64_t>(8, 128 / PQ)), T_ = parallel ? omp_get_max_threads() : 1;
  std::vector<std::unique_ptr<Slots>> slots(static_cast<size_t>(LG));  // [groups - 1]
  for (int64_t l = 1; l <= LG; ++l)
    slots[l - 1] = std::make_unique<Slots>(Slots::ImageLanes{}, s.P, s.Q, L.Wi, kL, 1, l, in_group, out_group);
  ThreadPartials<T> dw_parts(s.K * CRS);
  ThreadPartials<double> db_parts(s.K);
#pragma omp parallel if (parallel)
  {
    std::vector<T>& dwt = dw_parts.mine();
    std::vector<double>& dbt = db_parts.mine();
    const ImageBuffer<T> xbuf(static_cast<size_t>(LG * in_group)), ybuf(static_cast<size_t>(LG * out_group));
    T *xb = xbuf.data(), *yb = ybuf.data();
    std::fill(xb, xb + LG * in_group, T(0));  // the padding
    for (int64_t t = omp_get_thread_num(); t < T_; t += omp_get_num_threads()) {
      const int64_t begin = s.N * t / T_, end = s.N * (t + 1) / T_;
      for (int64_t n0 = begin; n0 < end; n0 += LG * kL) {
        const int64_t nb = std::min(LG * kL, end - n0), groups = (nb + kL - 1) / kL;
        if (nb % kL != 0) {  // the last group's unused lanes must be zero in both (they add 0 x 0)
          std::fill(xb + (groups - 1) * in_group, xb + groups * in_group, T(0));
          std::fill(yb + (groups - 1) * out_group, yb + groups * out_group, T(0));
        }
        for (int64_t l = 0; l < groups; ++l) {
          const int64_t n = std::min(kL, nb - l * kL), HW = s.H * s.W;
          lc.copy(x + (n0 + l * kL) * s.C * HW, s.C * HW, n, s.C, xb + l * in_group);
          to_lanes(dy + (n0 + l * kL) * s.K * PQ, s.K * PQ, n, s.K * PQ, static_cast<const int64_t*>(nullptr),
                   yb + l * out_group);
        }
        for (int64_t b = 0; b < nb; ++b) {
          const T* d = dy + (n0 + b) * s.K * PQ;
          if (db)
            for (int64_t k = 0; k < s.K; ++k) {
              T acc = 0;
#pragma omp simd reduction(+ : acc)
              for (int64_t i = 0; i < PQ; ++i) acc += d[k * PQ + i];
              dbt[k] += acc;
            }
        }
        for (int64_t g = 0; g < s.groups; ++g)
          Tiles::dw(DwArgs<T>{yb + g * Kg * dps, dps, Kg, xb + g * Cg * cs, row.data(), CRS,
                              slots[groups - 1].get(), dwt.data() + g * Kg * CRS});
      }
    }
  }
  dw_parts.sum_into(dw);
  if (db) db_parts.sum_into(db);
}

template <class T>
void bwd_weight_direct(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (subsampled_1x1(s)) {
    const ImageBuffer<T> xs(static_cast<size_t>(s.N * s.C * s.P * s.Q));
    subsample(s, x, xs.data());
    return bwd_weight_direct(as_subsampled(s), xs.data(), dy, dw, db);
  }
  const bool parallel = conv_macs(s) > kParallelMinMacs;
  const bool lanes = s.stride_h == 1 && s.stride_w == 1 &&
                     LaneLayout::pays(LaneLayout::kWeight, s.N, parallel ? omp_get_max_threads() : 1, s.P, s.Q, s.W + 2 * s.pad_w,
                                      Vec<T>::kLanes, conv_macs(s) / s.N,
                                      s.C * (s.H + 2 * s.pad_h) * (s.W + 2 * s.pad_w) + s.K * s.P * s.Q, sizeof(T));
#if MINIDL_CONV_AVX512_TILES
  if (has_avx512()) {
    if (lanes) return bwd_weight_lanes_with<Avx512Tiles>(s, x, dy, dw, db, parallel);
    return bwd_weight_with<Avx512Tiles>(s, x, dy, dw, db);
  }
#endif
  if (lanes) return bwd_weight_lanes_with<Avx2Tiles>(s, x, dy, dw, db, parallel);
  bwd_weight_with<Avx2Tiles>(s, x, dy, dw, db);
}

bool unit_stride(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1; }

}  // namespace

void set_conv_lanes(ConvLanes mode) { lanes_mode() = static_cast<int>(mode); }
ConvLanes conv_lanes() { return static_cast<ConvLanes>(lanes_mode().load()); }

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.N == 0) return;
  fwd_direct(s, x, w, bias, y);
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (s.N == 0) return;
  if (unit_stride(s)) bwd_data_stride1(s, dy, w, dx);
  else bwd_data_strided(s, dy, w, dx);
}

template <class T>
void conv2d_bwd_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (s.N == 0) {  // no images: zero gradients (and no per-image cost model to divide by N)
    std::fill_n(dw, s.K * s.Cg() * s.R * s.S, T(0));
    if (db) std::fill_n(db, s.K, T(0));
    return;
  }
  bwd_weight_direct(s, x, dy, dw, db);
}

#define MINIDL_KERNELS(K) MINIDL_CONV_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

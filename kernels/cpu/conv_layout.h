// Internal to the cpu conv engine (kernels/cpu/conv.cpp, whose header comment is the overview):
// how the images and outputs are laid out for the register tiles. Per-thread partial sums, the
// slots and chunks of the output grid, the regrouped padded copy for strides, the buffers.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "kernels/conv.h"
#include "kernels/cpu/simd.h"

namespace minidl::cpu::conv_detail {

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

// Images per chunk for the forward-style passes: the fewest that make the slot count a multiple
// of NV (8x8 images have 8 slots each: 3 of them fill 24 slots).
inline int64_t tile_chunk(int64_t slots, int64_t NV) {
  int64_t g = NV, b = slots;
  while (b != 0) g = std::exchange(b, g % b);  // gcd(NV, slots)
  return NV / g;
}

}  // namespace minidl::cpu::conv_detail

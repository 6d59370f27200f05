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
//   cost model where it pays (small maps; backward weight of 3x3 kernels; see conv_path.h).
// OpenMP splits the batch across the threads (equal contiguous ranges); each thread accumulates
// its own dw and db (ThreadPartials), summed at the end. Padded buffers are per thread and call,
// from the CPU allocator's cache (a fresh std::vector was page-faulted in on every call), zeroed
// once: their borders are never written. The vector type Vec<T> is in kernels/cpu/simd.h.
// The pieces, by concern: conv_layout.h (slots, chunks, the regrouped copy, buffers), conv_tiles.h
// (the register tiles, AVX2 and AVX-512), conv_lanes.h (image lanes), conv_bwd_weight.h (the
// backward-weight drivers), conv_path.h / .cpp (which path a shape and pass take, and every
// constant of that choice). This file: the forward and backward-data drivers and the entry points.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/parallel.h"
#include "kernels/conv.h"
#include "kernels/cpu/conv_bwd_weight.h"
#include "kernels/cpu/conv_lanes.h"
#include "kernels/cpu/conv_layout.h"
#include "kernels/cpu/conv_path.h"
#include "kernels/cpu/conv_tiles.h"
#include "kernels/cpu/simd.h"

namespace minidl::cpu {
namespace conv_detail {
namespace {

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
  const bool parallel = conv_parallel(N * M * Cg * RS * PQ);
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

// The forward-style convolution of conv_direct_with (same arguments), on the path chosen for it.
template <class T, class Get>
void conv_direct(const ConvPath& path, const T* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top,
                 int64_t left, int64_t R, int64_t S, int64_t sh, int64_t sw, int64_t G, int64_t M, Get get,
                 const T* bias, T* out) {
#if MINIDL_CONV_AVX512_TILES
  if (path.avx512) {
    if (path.lanes)
      return conv_lanes_with<Avx512Tiles>(in, N, C, H, W, top, left, R, S, G, M, get, bias, out, path.parallel);
    return conv_direct_with<Avx512Tiles>(in, N, C, H, W, top, left, R, S, sh, sw, G, M, get, bias, out);
  }
#endif
  if (path.lanes) return conv_lanes_with<Avx2Tiles>(in, N, C, H, W, top, left, R, S, G, M, get, bias, out, path.parallel);
  conv_direct_with<Avx2Tiles>(in, N, C, H, W, top, left, R, S, sh, sw, G, M, get, bias, out);
}

template <class T>
ConvPath path_for(const Conv2dShape& s, ConvPass pass) {
  return choose_path(s, pass, sizeof(T), Vec<T>::kLanes, omp_get_max_threads());
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
  const ConvPath path = path_for<T>(s, ConvPass::Forward);
  if (path.subsampled) {
    const ImageBuffer<T> xs(static_cast<size_t>(s.N * s.C * s.P * s.Q));
    subsample(s, x, xs.data());
    return fwd_direct(as_subsampled(s), xs.data(), w, bias, y);
  }
  const int64_t Cg = s.Cg(), Kg = s.Kg(), RS = s.R * s.S;
  conv_direct(path, x, s.N, s.C, s.H, s.W, s.pad_h, s.pad_w, s.R, s.S, s.stride_h, s.stride_w, s.groups, s.K,
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
  conv_direct(path_for<T>(s, ConvPass::BackwardData), dy, s.N, s.K, s.P, s.Q, s.R - 1 - s.pad_h, s.S - 1 - s.pad_w, s.R, s.S, 1, 1, s.groups, s.C, flipped,
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
  const bool parallel = conv_parallel(conv_macs(s));
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
  if (path_for<T>(s, ConvPass::BackwardData).avx512) return bwd_data_strided_with<Avx512Tiles>(s, dy, w, dx);
#endif
  bwd_data_strided_with<Avx2Tiles>(s, dy, w, dx);
}

template <class T>
void bwd_weight_direct(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const ConvPath path = path_for<T>(s, ConvPass::BackwardWeight);
  if (path.subsampled) {
    const ImageBuffer<T> xs(static_cast<size_t>(s.N * s.C * s.P * s.Q));
    subsample(s, x, xs.data());
    return bwd_weight_direct(as_subsampled(s), xs.data(), dy, dw, db);
  }
#if MINIDL_CONV_AVX512_TILES
  if (path.avx512) {
    if (path.lanes) return bwd_weight_lanes_with<Avx512Tiles>(s, x, dy, dw, db, path.parallel);
    return bwd_weight_with<Avx512Tiles>(s, x, dy, dw, db);
  }
#endif
  if (path.lanes) return bwd_weight_lanes_with<Avx2Tiles>(s, x, dy, dw, db, path.parallel);
  bwd_weight_with<Avx2Tiles>(s, x, dy, dw, db);
}

}  // namespace
}  // namespace conv_detail

using namespace conv_detail;

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.N == 0) return;
  fwd_direct(s, x, w, bias, y);
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (s.N == 0) return;
  if (s.stride_h == 1 && s.stride_w == 1) bwd_data_stride1(s, dy, w, dx);
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

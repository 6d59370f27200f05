// Internal to the cpu conv engine (kernels/cpu/conv.cpp): the backward-weight drivers,
//   dw[k, c, r, s] = sum_{n, p, q} dy[n, k, p, q] x[n, c, p sh - ph + r, q sw - pw + s],  db[k] = sum dy[n, k, p, q]
// on the pixel grid (any stride) and on image lanes (stride 1). Each thread sums into its own
// partials (ThreadPartials), added in thread order at the end.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/conv_lanes.h"
#include "kernels/cpu/conv_layout.h"
#include "kernels/cpu/conv_path.h"
#include "kernels/cpu/conv_tiles.h"

namespace minidl::cpu::conv_detail {

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
  const bool parallel = conv_parallel(conv_macs(s));
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

}  // namespace minidl::cpu::conv_detail

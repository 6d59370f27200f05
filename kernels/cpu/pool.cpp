// The tuned CPU pooling engine (kernels/ref/pool.cpp is the plain specification, with the same
// tie and NaN rules):
// Every (n, c) plane is independent; output cell (i, j) of max/avg pooling covers input rows
// h0 = i * stride_h - pad_h .. h0 + kernel_h - 1 (and the same for columns), clipped to the input.
//   max_pool2d_fwd: y = max of the window; padding is -inf, so it never wins (every window holds a
//                   real element because padding <= kernel / 2). Ties keep the first maximum in
//                   row-major window order, and a NaN wins, as in PyTorch. argmax = ih * W + iw.
//   max_pool2d_bwd: dx = 0, then dx[argmax[o]] += dy[o] for every output o.
//   avg_pool2d_fwd: y = (sum of the clipped window) / (kernel_h * kernel_w)   (count_include_pad:
//                   the padding adds zeros, which are counted in the divisor)
//   avg_pool2d_bwd: dx = 0, then every window adds dy[o] / (kernel_h * kernel_w) to its elements.
//   adaptive_avg_pool2d_fwd / _bwd: windows rows floor(i H / out_h) .. ceil((i+1) H / out_h) - 1
//                   (columns alike), divisor = the window's area. Windows overlap when the sizes
//                   do not divide (7 -> 3: rows 0-2, 2-4, 4-6); when they divide they tile the
//                   plane and the backward writes each element once, without zeroing first.
// Threads: OpenMP over planes, when that pays (parallel_pays, from each loop's one-thread time per
// input element, bench_ops --threads 1). The backward scatters (+=) inside a plane, which overlapping windows
// (stride < kernel) need, and which cannot race because one thread owns the whole plane.
#include <algorithm>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "kernels/pool.h"

namespace minidl::cpu {

namespace {
// One thread's microseconds per input element of each loop (fitted on the reference models' shapes).
constexpr double kMaxFwdUs = 1.4e-3, kMaxBwdUs = 0.2e-3, kAvgUs = 0.5e-3, kAdaptiveUs = 0.2e-3;
inline bool split(int64_t in_elements, double us_per_element) {
  return parallel_pays(static_cast<double>(in_elements) * us_per_element);
}

// Rows [begin, end) of the window of output index i of a max/avg pooling (clipped to the input).
struct Range {
  int64_t begin, end;
};
inline Range window(int64_t i, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
  const int64_t start = i * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + kernel, size)};
}
// Rows floor(i size / out) .. ceil((i + 1) size / out) - 1 of adaptive pooling.
inline Range adaptive_window(int64_t i, int64_t out, int64_t size) {
  return {i * size / out, ((i + 1) * size + out - 1) / out};
}
// All out windows of one axis, computed once per call (two divisions each: per plane they cost
// more than a global pool's 64-value sum).
inline std::vector<Range> adaptive_windows(int64_t out, int64_t size) {
  std::vector<Range> r(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) r[i] = adaptive_window(i, out, size);
  return r;
}
}  // namespace

// The loops run window position (h, j) outside and the output column ow inside, so the inner
// loop updates a whole output row at once with selects (vectorized, and no unpredictable
// branch per comparison). For every output the window is still visited in row-major order, so
// the strict > keeps the first maximum. Padded columns are skipped (they are -inf).
template <class T>
void max_pool2d_fwd(const T* x, T* y, int32_t* argmax, Pool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.out_h * g.out_w;
  const int32_t W = static_cast<int32_t>(g.W), sw = static_cast<int32_t>(g.stride_w);
#pragma omp parallel if (split(g.planes * in_plane, kMaxFwdUs))
  {
    std::vector<int32_t> scratch(argmax ? 0 : static_cast<size_t>(g.out_w));  // argmax row when none is kept
#pragma omp for
    for (int64_t p = 0; p < g.planes; ++p) {
      const T* xp = x + p * in_plane;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const Range rh = window(oh, g.stride_h, g.pad_h, g.kernel_h, g.H);
        T* best = y + p * out_plane + oh * g.out_w;
        int32_t* at = argmax ? argmax + p * out_plane + oh * g.out_w : scratch.data();
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          best[ow] = -std::numeric_limits<T>::infinity();
          at[ow] = static_cast<int32_t>(rh.begin * g.W + window(ow, g.stride_w, g.pad_w, g.kernel_w, g.W).begin);
        }
        for (int64_t h = rh.begin; h < rh.end; ++h) {
          for (int64_t j = 0; j < g.kernel_w; ++j) {
            // Output ow reads column ow * sw + off; keep the ow where that column is inside [0, W).
            const int32_t off = static_cast<int32_t>(j - g.pad_w);
            if (off > W - 1) break;
            const int32_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
            const int32_t hi = static_cast<int32_t>(std::min<int64_t>(g.out_w, (W - 1 - off) / sw + 1));
            const T* row = xp + h * g.W;
            const int32_t base = static_cast<int32_t>(h * g.W) + off;
#pragma omp simd
            for (int32_t ow = lo; ow < hi; ++ow) {
              const T v = row[off + ow * sw];
              const bool take = v > best[ow] || v != v;  // strict: ties keep the first; NaN wins
              best[ow] = take ? v : best[ow];
              at[ow] = take ? base + ow * sw : at[ow];
            }
          }
        }
      }
    }
  }
}

template <class T>
void max_pool2d_bwd(const T* dy, const int32_t* argmax, T* dx, Pool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.out_h * g.out_w;
#pragma omp parallel for if (split(g.planes * in_plane, kMaxBwdUs))
  for (int64_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * in_plane;
    const T* dyp = dy + p * out_plane;
    const int32_t* ap = argmax + p * out_plane;
    std::fill(dxp, dxp + in_plane, T(0));
    for (int64_t o = 0; o < out_plane; ++o) dxp[ap[o]] += dyp[o];
  }
}

template <class T>
void avg_pool2d_fwd(const T* x, T* y, Pool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.out_h * g.out_w;
  const T divisor = static_cast<T>(g.kernel_h * g.kernel_w);
#pragma omp parallel for if (split(g.planes * in_plane, kAvgUs))
  for (int64_t p = 0; p < g.planes; ++p) {
    const T* xp = x + p * in_plane;
    T* yp = y + p * out_plane;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const Range rh = window(oh, g.stride_h, g.pad_h, g.kernel_h, g.H);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Range rw = window(ow, g.stride_w, g.pad_w, g.kernel_w, g.W);
        T sum = 0;
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) sum += xp[h * g.W + w];
        yp[oh * g.out_w + ow] = sum / divisor;
      }
    }
  }
}

template <class T>
void avg_pool2d_bwd(const T* dy, T* dx, Pool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.out_h * g.out_w;
  const T divisor = static_cast<T>(g.kernel_h * g.kernel_w);
#pragma omp parallel for if (split(g.planes * in_plane, kAvgUs))
  for (int64_t p = 0; p < g.planes; ++p) {
    T* dxp = dx + p * in_plane;
    const T* dyp = dy + p * out_plane;
    std::fill(dxp, dxp + in_plane, T(0));
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const Range rh = window(oh, g.stride_h, g.pad_h, g.kernel_h, g.H);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Range rw = window(ow, g.stride_w, g.pad_w, g.kernel_w, g.W);
        const T share = dyp[oh * g.out_w + ow] / divisor;
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) dxp[h * g.W + w] += share;
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_fwd(const T* x, T* y, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                             int64_t out_w) {
  const std::vector<Range> rows = adaptive_windows(out_h, H), cols = adaptive_windows(out_w, W);
#pragma omp parallel for if (split(planes * H * W, kAdaptiveUs))
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * H * W;
    T* yp = y + p * out_h * out_w;
    for (int64_t i = 0; i < out_h; ++i) {
      const Range rh = rows[i];
      for (int64_t j = 0; j < out_w; ++j) {
        const Range rw = cols[j];
        T sum = 0;
        if (rw.end - rw.begin == W) {  // whole rows (e.g. global pooling): one contiguous run
          const T* run = xp + rh.begin * W;
          const int64_t len = (rh.end - rh.begin) * W;
#pragma omp simd reduction(+ : sum)
          for (int64_t k = 0; k < len; ++k) sum += run[k];
        } else {
          for (int64_t h = rh.begin; h < rh.end; ++h) {
            const T* row = xp + h * W;
#pragma omp simd reduction(+ : sum)
            for (int64_t w = rw.begin; w < rw.end; ++w) sum += row[w];
          }
        }
        yp[i * out_w + j] = sum / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
      }
    }
  }
}

template <class T>
void adaptive_avg_pool2d_bwd(const T* dy, T* dx, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                             int64_t out_w) {
  const bool tiled = H % out_h == 0 && W % out_w == 0;
  const std::vector<Range> rows = adaptive_windows(out_h, H), cols = adaptive_windows(out_w, W);
#pragma omp parallel for if (split(planes * H * W, kAdaptiveUs))
  for (int64_t p = 0; p < planes; ++p) {
    T* dxp = dx + p * H * W;
    const T* dyp = dy + p * out_h * out_w;
    // When the sizes divide, the windows tile the plane: each element is written once, with =.
    if (!tiled) std::fill(dxp, dxp + H * W, T(0));
    for (int64_t i = 0; i < out_h; ++i) {
      const Range rh = rows[i];
      for (int64_t j = 0; j < out_w; ++j) {
        const Range rw = cols[j];
        const T share = dyp[i * out_w + j] / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
        for (int64_t h = rh.begin; h < rh.end; ++h) {
          T* row = dxp + h * W;
          if (tiled) {
#pragma omp simd
            for (int64_t w = rw.begin; w < rw.end; ++w) row[w] = share;
          } else {
#pragma omp simd
            for (int64_t w = rw.begin; w < rw.end; ++w) row[w] += share;
          }
        }
      }
    }
  }
}

#define MINIDL_KERNELS(K) MINIDL_POOL_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

// The pooling reference (runs on the CPU): the executable specification of kernels/cuda/pool.cu
// and kernels/cpu/pool.cpp. Every (n, c) plane is independent; output cell (i, j) of max/avg
// pooling covers input rows h0 = i * stride_h - pad_h .. h0 + kernel_h - 1 (and the same for
// columns), clipped to the input.
//   max_pool2d_fwd: y = max of the window; padding is -inf, so it never wins (every window holds a
//                   real element because padding <= kernel / 2). Ties keep the first maximum in
//                   row-major window order, and a NaN wins (the last one), as in PyTorch.
//                   argmax = ih * W + iw.
//   max_pool2d_bwd: dx = 0, then dx[argmax[o]] += dy[o] for every output o.
//   avg_pool2d_fwd: y = (sum of the clipped window) / (kernel_h * kernel_w)   (count_include_pad:
//                   the padding adds zeros, which are counted in the divisor)
//   avg_pool2d_bwd: dx = 0, then every window adds dy[o] / (kernel_h * kernel_w) to its elements.
//   adaptive_avg_pool2d_fwd / _bwd: windows rows floor(i H / out_h) .. ceil((i+1) H / out_h) - 1
//                   (columns alike), divisor = the window's area. Windows overlap when the sizes
//                   do not divide (7 -> 3: rows 0-2, 2-4, 4-6).
// Plain loops, one plane per OpenMP iteration (the backward's += never races: a plane is one
// thread's).
#include <algorithm>
#include <limits>

#include "kernels/pool.h"

namespace minidl::ref {

namespace {
// Rows [begin, end) of the window of output index i of a max/avg pooling (clipped to the input).
struct Range {
  int64_t begin, end;
};
Range window(int64_t i, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
  const int64_t start = i * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + kernel, size)};
}
// Rows floor(i size / out) .. ceil((i + 1) size / out) - 1 of adaptive pooling.
Range adaptive_window(int64_t i, int64_t out, int64_t size) { return {i * size / out, ((i + 1) * size + out - 1) / out}; }
}  // namespace

template <class T>
void max_pool2d_fwd(const T* x, T* y, int32_t* argmax, Pool2dGeometry g) {
#pragma omp parallel for
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Range rh = window(oh, g.stride_h, g.pad_h, g.kernel_h, g.H);
        const Range rw = window(ow, g.stride_w, g.pad_w, g.kernel_w, g.W);
        T best = -std::numeric_limits<T>::infinity();
        int64_t at = rh.begin * g.W + rw.begin;
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) {
            const T v = x[(p * g.H + h) * g.W + w];
            if (v > best || v != v) best = v, at = h * g.W + w;
          }
        const int64_t o = (p * g.out_h + oh) * g.out_w + ow;
        y[o] = best;
        if (argmax) argmax[o] = static_cast<int32_t>(at);
      }
}

template <class T>
void max_pool2d_bwd(const T* dy, const int32_t* argmax, T* dx, Pool2dGeometry g) {
  const int64_t in_plane = g.H * g.W, out_plane = g.out_h * g.out_w;
#pragma omp parallel for
  for (int64_t p = 0; p < g.planes; ++p) {
    for (int64_t i = 0; i < in_plane; ++i) dx[p * in_plane + i] = T(0);
    for (int64_t o = 0; o < out_plane; ++o) dx[p * in_plane + argmax[p * out_plane + o]] += dy[p * out_plane + o];
  }
}

template <class T>
void avg_pool2d_fwd(const T* x, T* y, Pool2dGeometry g) {
  const T divisor = static_cast<T>(g.kernel_h * g.kernel_w);
#pragma omp parallel for
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Range rh = window(oh, g.stride_h, g.pad_h, g.kernel_h, g.H);
        const Range rw = window(ow, g.stride_w, g.pad_w, g.kernel_w, g.W);
        T sum = 0;
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) sum += x[(p * g.H + h) * g.W + w];
        y[(p * g.out_h + oh) * g.out_w + ow] = sum / divisor;
      }
}

template <class T>
void avg_pool2d_bwd(const T* dy, T* dx, Pool2dGeometry g) {
  const T divisor = static_cast<T>(g.kernel_h * g.kernel_w);
#pragma omp parallel for
  for (int64_t p = 0; p < g.planes; ++p) {
    for (int64_t i = 0; i < g.H * g.W; ++i) dx[p * g.H * g.W + i] = T(0);
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Range rh = window(oh, g.stride_h, g.pad_h, g.kernel_h, g.H);
        const Range rw = window(ow, g.stride_w, g.pad_w, g.kernel_w, g.W);
        const T share = dy[(p * g.out_h + oh) * g.out_w + ow] / divisor;
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) dx[(p * g.H + h) * g.W + w] += share;
      }
  }
}

template <class T>
void adaptive_avg_pool2d_fwd(const T* x, T* y, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                             int64_t out_w) {
#pragma omp parallel for
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < out_h; ++i)
      for (int64_t j = 0; j < out_w; ++j) {
        const Range rh = adaptive_window(i, out_h, H), rw = adaptive_window(j, out_w, W);
        T sum = 0;
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) sum += x[(p * H + h) * W + w];
        y[(p * out_h + i) * out_w + j] = sum / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
      }
}

template <class T>
void adaptive_avg_pool2d_bwd(const T* dy, T* dx, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                             int64_t out_w) {
#pragma omp parallel for
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t k = 0; k < H * W; ++k) dx[p * H * W + k] = T(0);
    for (int64_t i = 0; i < out_h; ++i)
      for (int64_t j = 0; j < out_w; ++j) {
        const Range rh = adaptive_window(i, out_h, H), rw = adaptive_window(j, out_w, W);
        const T share = dy[(p * out_h + i) * out_w + j] / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
        for (int64_t h = rh.begin; h < rh.end; ++h)
          for (int64_t w = rw.begin; w < rw.end; ++w) dx[(p * H + h) * W + w] += share;
      }
  }
}

#define MINIDL_KERNELS(K) MINIDL_POOL_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

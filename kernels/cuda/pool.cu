// CUDA pooling kernels (same math as kernels/ref/pool.cpp). Planes = N * C, each independent;
// output (i, j) of max/avg covers input rows i * stride_h - pad_h .. + kernel_h - 1, clipped.
//   max fwd:      y = max of the window (padding never wins; ties keep the first in row-major
//                 window order; NaN wins); argmax = ih * W + iw in the plane, when requested.
//   max bwd:      dx[p] = sum of dy[o] over the windows o that contain p and chose it (argmax[o] == p).
//   avg fwd/bwd:  y = window sum / (kernel_h * kernel_w);  dx[p] = sum of dy[o] / (kernel_h * kernel_w)
//                 over the windows o containing p.
//   adaptive:     rows floor(i H / out_h) .. ceil((i+1) H / out_h) - 1 (columns alike), / area.
// Thread mapping (grid-stride loops):
//   forward:  one thread per output element, looping over its window. For adaptive pooling with
//             large windows (global pooling: few outputs, many inputs each) one warp per output
//             instead, so enough threads stream the input and the loads coalesce.
//   backward: one thread per INPUT element, gathering from the few outputs whose windows contain
//             it (their index range is computed in closed form). Overlapping windows (stride <
//             kernel) make several outputs feed one input; the gather sums them in one thread, so
//             there is no race and no atomics, and the result is deterministic and sums in the
//             same order as the CPU's scatter.
// Window sums accumulate in T: a window is at most one plane (global pooling over 8 x 8 to
// 32 x 32 values in minidl's models). Index math runs in int32 when every index fits (64-bit division is several times dearer on
// the GPU); int64 otherwise. Saved for backward (by kernels/pool.cpp): max's int32 argmax only.
#include <cstdint>
#include <initializer_list>

#include "core/cuda_utils.cuh"
#include "kernels/pool.h"

namespace minidl::cuda {
namespace {

// for (i over [0, n)) over the grid, in index type I (see fits_int32 for why it cannot overflow).
#define POOL_LOOP(I, i, n) \
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<I>(gridDim.x) * blockDim.x)

// int32 index math is safe when every quantity a kernel forms (element indices, window-bound
// products) plus the largest grid stride stays below 2^31.
bool fits_int32(std::initializer_list<int64_t> sizes) {
  constexpr int64_t kMaxStride = int64_t(65535) * 8 * kBlock;  // grid_for's cap times the block
  for (int64_t v : sizes)
    if (v + kMaxStride >= INT32_MAX) return false;
  return true;
}

// The geometry in the kernel's index type.
template <class I>
struct Geom {
  I H, W, out_h, out_w, kh, kw, sh, sw, ph, pw;
  explicit Geom(const Pool2dGeometry& g)
      : H(I(g.H)), W(I(g.W)), out_h(I(g.out_h)), out_w(I(g.out_w)), kh(I(g.kernel_h)), kw(I(g.kernel_w)),
        sh(I(g.stride_h)), sw(I(g.stride_w)), ph(I(g.pad_h)), pw(I(g.pad_w)) {}
};

// Outputs [lo, hi] along one axis whose windows (start o * s - pad, length k) contain input x:
// o * s <= x + pad  and  o * s > x + pad - k.
template <class I>
__device__ __forceinline__ void covering(I x, I s, I pad, I k, I out, I& lo, I& hi) {
  const I t = x + pad;
  lo = t < k ? I(0) : (t - k) / s + 1;
  hi = min(t / s, out - 1);
}

template <class T, class I>
__global__ void max_pool2d_fwd_kernel(const T* x, T* y, int32_t* argmax, I n, Geom<I> g) {
  POOL_LOOP(I, idx, n) {
    const I ow = idx % g.out_w, t = idx / g.out_w, oh = t % g.out_h, p = t / g.out_h;
    const I h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const I hb = max(h0, I(0)), he = min(h0 + g.kh, g.H), wb = max(w0, I(0)), we = min(w0 + g.kw, g.W);
    const T* xp = x + p * g.H * g.W;
    T best = -INFINITY;
    I best_at = hb * g.W + wb;
    for (I h = hb; h < he; ++h)
      for (I w = wb; w < we; ++w) {
        const T v = xp[h * g.W + w];
        if (v > best || isnan(v)) best = v, best_at = h * g.W + w;
      }
    y[idx] = best;
    if (argmax) argmax[idx] = static_cast<int32_t>(best_at);
  }
}

template <class T, class I>
__global__ void max_pool2d_bwd_kernel(const T* dy, const int32_t* argmax, T* dx, I n, Geom<I> g) {
  POOL_LOOP(I, idx, n) {
    const I iw = idx % g.W, t = idx / g.W, ih = t % g.H, p = t / g.H;
    I oh_lo, oh_hi, ow_lo, ow_hi;
    covering(ih, g.sh, g.ph, g.kh, g.out_h, oh_lo, oh_hi);
    covering(iw, g.sw, g.pw, g.kw, g.out_w, ow_lo, ow_hi);
    const I base = p * g.out_h * g.out_w, self = ih * g.W + iw;
    T sum = 0;
    for (I oh = oh_lo; oh <= oh_hi; ++oh)
      for (I ow = ow_lo; ow <= ow_hi; ++ow) {
        const I o = base + oh * g.out_w + ow;
        if (argmax[o] == self) sum += dy[o];
      }
    dx[idx] = sum;
  }
}

template <class T, class I>
__global__ void avg_pool2d_fwd_kernel(const T* x, T* y, I n, Geom<I> g) {
  POOL_LOOP(I, idx, n) {
    const I ow = idx % g.out_w, t = idx / g.out_w, oh = t % g.out_h, p = t / g.out_h;
    const I h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const I hb = max(h0, I(0)), he = min(h0 + g.kh, g.H), wb = max(w0, I(0)), we = min(w0 + g.kw, g.W);
    const T* xp = x + p * g.H * g.W;
    T sum = 0;
    for (I h = hb; h < he; ++h)
      for (I w = wb; w < we; ++w) sum += xp[h * g.W + w];
    y[idx] = sum / (static_cast<T>(g.kh) * static_cast<T>(g.kw));
  }
}

template <class T, class I>
__global__ void avg_pool2d_bwd_kernel(const T* dy, T* dx, I n, Geom<I> g) {
  POOL_LOOP(I, idx, n) {
    const I iw = idx % g.W, t = idx / g.W, ih = t % g.H, p = t / g.H;
    I oh_lo, oh_hi, ow_lo, ow_hi;
    covering(ih, g.sh, g.ph, g.kh, g.out_h, oh_lo, oh_hi);
    covering(iw, g.sw, g.pw, g.kw, g.out_w, ow_lo, ow_hi);
    const T* dyp = dy + p * g.out_h * g.out_w;
    const T divisor = static_cast<T>(g.kh) * static_cast<T>(g.kw);
    T sum = 0;
    for (I oh = oh_lo; oh <= oh_hi; ++oh)
      for (I ow = ow_lo; ow <= ow_hi; ++ow) sum += dyp[oh * g.out_w + ow] / divisor;
    dx[idx] = sum;
  }
}

// Adaptive window [begin, end) of output i along an axis of `size` inputs and `out` outputs.
template <class I>
__device__ __forceinline__ void adaptive_window(I i, I out, I size, I& begin, I& end) {
  begin = i * size / out;
  end = ((i + 1) * size + out - 1) / out;
}

template <class T, class I>
__global__ void adaptive_fwd_kernel(const T* x, T* y, I n, I H, I W, I out_h, I out_w) {
  POOL_LOOP(I, idx, n) {
    const I j = idx % out_w, t = idx / out_w, i = t % out_h, p = t / out_h;
    I hb, he, wb, we;
    adaptive_window(i, out_h, H, hb, he);
    adaptive_window(j, out_w, W, wb, we);
    const T* xp = x + p * H * W;
    T sum = 0;
    for (I h = hb; h < he; ++h)
      for (I w = wb; w < we; ++w) sum += xp[h * W + w];
    y[idx] = sum / static_cast<T>((he - hb) * (we - wb));
  }
}

// One warp per output: the lanes stride over the window's elements (flattened), then a shuffle
// reduction. For global pooling each warp reads one contiguous plane: coalesced.
template <class T, class I>
__global__ void adaptive_fwd_warp_kernel(const T* x, T* y, I n, I H, I W, I out_h, I out_w) {
  const I lane = threadIdx.x % 32, warps_per_block = blockDim.x / 32;
  for (I idx = static_cast<I>(blockIdx.x) * warps_per_block + threadIdx.x / 32; idx < n;
       idx += static_cast<I>(gridDim.x) * warps_per_block) {
    const I j = idx % out_w, t = idx / out_w, i = t % out_h, p = t / out_h;
    I hb, he, wb, we;
    adaptive_window(i, out_h, H, hb, he);
    adaptive_window(j, out_w, W, wb, we);
    const I ww = we - wb, area = (he - hb) * ww;
    const T* xp = x + p * H * W + hb * W + wb;
    T sum = 0;
    for (I k = lane; k < area; k += 32) sum += xp[(k / ww) * W + k % ww];
    for (int off = 16; off > 0; off /= 2) sum += __shfl_down_sync(0xffffffffu, sum, off);
    if (lane == 0) y[idx] = sum / static_cast<T>(area);
  }
}

template <class T, class I>
__global__ void adaptive_bwd_kernel(const T* dy, T* dx, I n, I H, I W, I out_h, I out_w) {
  POOL_LOOP(I, idx, n) {
    const I w = idx % W, t = idx / W, h = t % H, p = t / H;
    // Windows containing row h: i from floor(h out_h / H) to ceil((h+1) out_h / H) - 1; the
    // explicit bounds test below keeps the loop exact whatever the rounding.
    const I i_lo = h * out_h / H, i_hi = min(((h + 1) * out_h + H - 1) / H, out_h);
    const I j_lo = w * out_w / W, j_hi = min(((w + 1) * out_w + W - 1) / W, out_w);
    const T* dyp = dy + p * out_h * out_w;
    T sum = 0;
    for (I i = i_lo; i < i_hi; ++i) {
      I hb, he;
      adaptive_window(i, out_h, H, hb, he);
      if (h < hb || h >= he) continue;
      for (I j = j_lo; j < j_hi; ++j) {
        I wb, we;
        adaptive_window(j, out_w, W, wb, we);
        if (w < wb || w >= we) continue;
        sum += dyp[i * out_w + j] / static_cast<T>((he - hb) * (we - wb));
      }
    }
    dx[idx] = sum;
  }
}

// Launches kernel<T, int32_t> (when i32) or kernel<T, int64_t> with one thread per element of n.
#define POOL_LAUNCH(kernel, i32, n, ...)                                                           \
  do {                                                                                             \
    if (i32)                                                                                       \
      MINIDL_LAUNCH(grid_for(n), kBlock, kernel<T, int32_t>)(__VA_ARGS__, int32_t(n), Geom<int32_t>(g)); \
    else                                                                                           \
      MINIDL_LAUNCH(grid_for(n), kBlock, kernel<T, int64_t>)(__VA_ARGS__, int64_t(n), Geom<int64_t>(g)); \
  } while (0)

// Max/avg pooling forms indices below the input and output sizes only.
bool pool_fits_int32(const Pool2dGeometry& g) {
  return fits_int32({g.planes * g.H * g.W, g.planes * g.out_h * g.out_w, (g.H + 2 * g.pad_h) * (g.W + 2 * g.pad_w)});
}
// Adaptive pooling also forms i * H and (i + 1) * H + out_h (and the same for columns).
bool adaptive_fits_int32(int64_t planes, int64_t H, int64_t W, int64_t out_h, int64_t out_w) {
  return fits_int32({planes * H * W, planes * out_h * out_w * 32, (H + 1) * (out_h + 1), (W + 1) * (out_w + 1)});
}

}  // namespace

template <class T>
void max_pool2d_fwd(const T* x, T* y, int32_t* argmax, Pool2dGeometry g) {
  const int64_t n = g.planes * g.out_h * g.out_w;
  if (n == 0) return;
  POOL_LAUNCH(max_pool2d_fwd_kernel, pool_fits_int32(g), n, x, y, argmax);
}

template <class T>
void max_pool2d_bwd(const T* dy, const int32_t* argmax, T* dx, Pool2dGeometry g) {
  const int64_t n = g.planes * g.H * g.W;
  if (n == 0) return;
  POOL_LAUNCH(max_pool2d_bwd_kernel, pool_fits_int32(g), n, dy, argmax, dx);
}

template <class T>
void avg_pool2d_fwd(const T* x, T* y, Pool2dGeometry g) {
  const int64_t n = g.planes * g.out_h * g.out_w;
  if (n == 0) return;
  POOL_LAUNCH(avg_pool2d_fwd_kernel, pool_fits_int32(g), n, x, y);
}

template <class T>
void avg_pool2d_bwd(const T* dy, T* dx, Pool2dGeometry g) {
  const int64_t n = g.planes * g.H * g.W;
  if (n == 0) return;
  POOL_LAUNCH(avg_pool2d_bwd_kernel, pool_fits_int32(g), n, dy, dx);
}

template <class T>
void adaptive_avg_pool2d_fwd(const T* x, T* y, int64_t planes, int64_t H, int64_t W, int64_t out_h, int64_t out_w) {
  const int64_t n = planes * out_h * out_w;
  if (n == 0) return;
  const bool i32 = adaptive_fits_int32(planes, H, W, out_h, out_w);
  if (planes * H * W >= 32 * n) {  // windows of 32+ elements on average: a warp per output
    const unsigned grid = grid_for(n * 32);
    if (i32)
      MINIDL_LAUNCH(grid, kBlock, adaptive_fwd_warp_kernel<T, int32_t>)(x, y, int32_t(n), int32_t(H), int32_t(W),
                                                                        int32_t(out_h), int32_t(out_w));
    else
      MINIDL_LAUNCH(grid, kBlock, adaptive_fwd_warp_kernel<T, int64_t>)(x, y, n, H, W, out_h, out_w);
  } else if (i32) {
    MINIDL_LAUNCH(grid_for(n), kBlock, adaptive_fwd_kernel<T, int32_t>)(x, y, int32_t(n), int32_t(H), int32_t(W),
                                                                        int32_t(out_h), int32_t(out_w));
  } else {
    MINIDL_LAUNCH(grid_for(n), kBlock, adaptive_fwd_kernel<T, int64_t>)(x, y, n, H, W, out_h, out_w);
  }
}

template <class T>
void adaptive_avg_pool2d_bwd(const T* dy, T* dx, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                             int64_t out_w) {
  const int64_t n = planes * H * W;
  if (n == 0) return;
  if (adaptive_fits_int32(planes, H, W, out_h, out_w))
    MINIDL_LAUNCH(grid_for(n), kBlock, adaptive_bwd_kernel<T, int32_t>)(dy, dx, int32_t(n), int32_t(H), int32_t(W),
                                                                        int32_t(out_h), int32_t(out_w));
  else
    MINIDL_LAUNCH(grid_for(n), kBlock, adaptive_bwd_kernel<T, int64_t>)(dy, dx, n, H, W, out_h, out_w);
}

#define MINIDL_KERNELS(K) MINIDL_POOL_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

// Pooling over NCHW windows: max_pool2d, avg_pool2d, adaptive_avg_pool2d.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl {

// Window size, stride (defaults to the window, like PyTorch) and zero padding:
//   Pool2dOptions(2)   Pool2dOptions(3).stride(2).padding(1)
struct Pool2dOptions {
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h = 0, pad_w = 0;
  explicit Pool2dOptions(int64_t k) : kernel_h(k), kernel_w(k), stride_h(k), stride_w(k) {}
  Pool2dOptions(int64_t kh, int64_t kw) : kernel_h(kh), kernel_w(kw), stride_h(kh), stride_w(kw) {}
  Pool2dOptions& stride(int64_t s) { stride_h = stride_w = s; return *this; }
  Pool2dOptions& stride(int64_t sh, int64_t sw) { stride_h = sh, stride_w = sw; return *this; }
  Pool2dOptions& padding(int64_t p) { pad_h = pad_w = p; return *this; }
  Pool2dOptions& padding(int64_t ph, int64_t pw) { pad_h = ph, pad_w = pw; return *this; }
};

namespace ops {
// Padding counts as -infinity for max and as 0 (included in the divisor, PyTorch's default
// count_include_pad=True) for avg. Output size (H + 2 pad - kernel) / stride + 1 (floor).
Tensor max_pool2d(const Tensor& x, Pool2dOptions options);
Tensor avg_pool2d(const Tensor& x, Pool2dOptions options);
// Output [N, C, out_h, out_w]; cell (i, j) averages rows floor(i H / out_h) .. ceil((i+1) H / out_h) - 1
// (and the same for columns). (1, 1) is global average pooling.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
}  // namespace ops

// The sizes of one max/avg pooling call: x [planes, H, W] -> y [planes, out_h, out_w], where
// planes = N * C (every (n, c) plane is pooled independently). Output cell (i, j) covers input
// rows i * stride_h - pad_h ... + kernel_h - 1 and the same for columns.
struct Pool2dGeometry {
  int64_t planes, H, W, out_h, out_w, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

// Raw kernels (contiguous NCHW; identical signatures on both devices):
//   max_pool2d_fwd: y = max over each window (padding never wins); argmax, when not null, gets
//                   the position ih * W + iw of the first maximum inside its input plane.
//   max_pool2d_bwd: dx[argmax[o]] = sum of the dy[o] that chose it; 0 elsewhere.
//   avg_pool2d_fwd: y = (sum over the window, padding counted as 0) / (kernel_h * kernel_w).
//   avg_pool2d_bwd: dx = sum over the windows containing x of dy / (kernel_h * kernel_w).
//   adaptive_avg_pool2d_fwd / _bwd: the same for windows rows floor(i H / out_h) .. ceil((i+1) H / out_h) - 1.
#define MINIDL_POOL_KERNELS                                                                                   \
  template <class T> void max_pool2d_fwd(const T* x, T* y, int32_t* argmax, Pool2dGeometry g);              \
  template <class T> void max_pool2d_bwd(const T* dy, const int32_t* argmax, T* dx, Pool2dGeometry g);      \
  template <class T> void avg_pool2d_fwd(const T* x, T* y, Pool2dGeometry g);                               \
  template <class T> void avg_pool2d_bwd(const T* dy, T* dx, Pool2dGeometry g);                             \
  template <class T> void adaptive_avg_pool2d_fwd(const T* x, T* y, int64_t planes, int64_t H, int64_t W,   \
                                                  int64_t out_h, int64_t out_w);                            \
  template <class T> void adaptive_avg_pool2d_bwd(const T* dy, T* dx, int64_t planes, int64_t H, int64_t W, \
                                                  int64_t out_h, int64_t out_w);
namespace ref { MINIDL_POOL_KERNELS }   // kernels/ref/pool.cpp
namespace cuda { MINIDL_POOL_KERNELS }  // kernels/cuda/pool.cu
#undef MINIDL_POOL_KERNELS

}  // namespace minidl

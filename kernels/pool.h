// Pooling over NCHW windows: max_pool2d, avg_pool2d, adaptive_avg_pool2d.
#pragma once
#include <cstdint>

#include "core/options.h"
#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {

namespace ops {

// The window of max_pool2d and avg_pool2d, chained like libtorch's F::MaxPool2dFuncOptions: its
// size, the stride (the window size unless set, as in PyTorch) and zero padding. The pooling
// layers take the same struct (nn::MaxPool2dOptions, nn::AvgPool2dOptions).
//   ops::Pool2dFuncOptions(2)   ops::Pool2dFuncOptions(3).stride(2).padding(1)   ({3, 2}: per axis)
class Pool2dFuncOptions {
 public:
  explicit Pool2dFuncOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}
  MINIDL_ARG(Size2, kernel_size, 1)
  MINIDL_ARG(Size2, stride, 1)
  MINIDL_ARG(Size2, padding, 0)
};

// Padding counts as -infinity for max and as 0 (included in the divisor, PyTorch's default
// count_include_pad=True) for avg. Output size (H + 2 pad - kernel) / stride + 1 (floor).
Tensor max_pool2d(const Tensor& x, const Pool2dFuncOptions& options);
Tensor avg_pool2d(const Tensor& x, const Pool2dFuncOptions& options);
// Output [N, C, out_h, out_w]; cell (i, j) averages rows floor(i H / out_h) .. ceil((i+1) H / out_h) - 1
// (and the same for columns). output_size (1, 1) is global average pooling.
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

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
#define MINIDL_POOL_KERNELS(K)                                                                                 \
  K(max_pool2d_fwd, (const T* x, T* y, int32_t* argmax, Pool2dGeometry g))                                     \
  K(max_pool2d_bwd, (const T* dy, const int32_t* argmax, T* dx, Pool2dGeometry g))                             \
  K(avg_pool2d_fwd, (const T* x, T* y, Pool2dGeometry g))                                                      \
  K(avg_pool2d_bwd, (const T* dy, T* dx, Pool2dGeometry g))                                                    \
  K(adaptive_avg_pool2d_fwd, (const T* x, T* y, int64_t planes, int64_t H, int64_t W, int64_t out_h,           \
      int64_t out_w))                                                                                          \
  K(adaptive_avg_pool2d_bwd, (const T* dy, T* dx, int64_t planes, int64_t H, int64_t W, int64_t out_h,         \
      int64_t out_w))
namespace ref { MINIDL_POOL_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/pool.cpp
namespace cpu { MINIDL_POOL_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/pool.cpp (tuned)
namespace cuda { MINIDL_POOL_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/pool.cu

// The engine choice of the poolings (kernels/pool.cpp; see kernels/engine.h): on CPU tensors cpu
// (the default) or ref; on CUDA tensors cuda. MINIDL_POOL_ENGINE=ref.
EngineChoice& pool_engine();
}  // namespace minidl

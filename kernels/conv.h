// 2-D convolution (cross-correlation, like torch.nn.functional.conv2d), NCHW.
//   y[n, k, p, q] = b[k] + sum_{c, r, s} x[n, g*C/G + c, p*sh - ph + r, q*sw - pw + s] * w[k, c, r, s]
// for output channel k in group g = k / (K/G), input channels of that group only.
#pragma once
#include <cstdint>

#include "core/options.h"
#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {

namespace ops {

// The geometry of conv2d, chained like libtorch's F::Conv2dFuncOptions (nn::Conv2dOptions, the
// layer's options, carries the same three):
//   ops::Conv2dFuncOptions().stride(2).padding(1).groups(4)     (.stride({2, 1}): per axis)
class Conv2dFuncOptions {
  MINIDL_ARG(Size2, stride, 1)
  MINIDL_ARG(Size2, padding, 0)
  MINIDL_ARG(int64_t, groups, 1)
};

// x [N, C, H, W], weight [K, C/groups, R, S], bias [K] or undefined -> [N, K, P, Q] with
// P = (H + 2 ph - R) / sh + 1, Q = (W + 2 pw - S) / sw + 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dFuncOptions& options = {});

}  // namespace ops

// The geometry of one convolution, everything the raw kernels need (sizes of x [N, C, H, W],
// weight [K, C/groups, R, S] and y [N, K, P, Q], stride, padding, groups).
struct Conv2dShape {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t K = 0, R = 0, S = 0;         // output channels, kernel height and width
  int64_t P = 0, Q = 0;                // output height and width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, groups = 1;
  int64_t Cg() const { return C / groups; }  // input channels per group
  int64_t Kg() const { return K / groups; }  // output channels per group
};

// Raw kernels: contiguous NCHW arrays, the same signature in every engine. Each writes its
// outputs with `=` (see core/autograd.h).
//   conv2d_fwd:        y = conv(x, w) + bias                 (bias may be null)
//   conv2d_bwd_data:   dx[n, c, h, w] = sum_{k, r, s} dy[n, k, p, q] w[k, c, r, s]
//                      over the (p, q) with h = p sh - ph + r, w = q sw - pw + s
//   conv2d_bwd_weight: dw[k, c, r, s] = sum_{n, p, q} dy[n, k, p, q] x[n, c, p sh - ph + r, q sw - pw + s]
//                      db[k] = sum_{n, p, q} dy[n, k, p, q]  (db may be null)
#define MINIDL_CONV_KERNELS(K)                                                                                 \
  K(conv2d_fwd, (const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y))                           \
  K(conv2d_bwd_data, (const Conv2dShape& s, const T* dy, const T* w, T* dx))                                   \
  K(conv2d_bwd_weight, (const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db))
namespace ref { MINIDL_CONV_KERNELS(MINIDL_DECLARE_KERNEL) }    // kernels/ref/conv.cpp: the 7-loop definition
namespace cpu {
MINIDL_CONV_KERNELS(MINIDL_DECLARE_KERNEL)  // kernels/cpu/conv.cpp: direct register tiles, any stride
// Where the cpu engine puts images in the vector lanes (small maps at stride 1; see conv.cpp):
// Auto (the default) where its cost model says it pays, Always at every stride-1 pass, Never.
// For tests and A/B timings; MINIDL_CONV_LANES=auto|always|never sets the initial value.
enum class ConvLanes { Auto, Always, Never };
void set_conv_lanes(ConvLanes mode);
ConvLanes conv_lanes();
}  // namespace cpu
namespace cuda { MINIDL_CONV_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cuda/conv.cu: implicit GEMM
namespace cudnn { MINIDL_CONV_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cudnn/conv.cu

// The engine choice of conv2d, forward and backward (kernels/conv.cpp; see kernels/engine.h):
// CPU cpu (the default) or ref; CUDA cuda (the default) or cudnn. MINIDL_CONV_ENGINE=ref,cudnn.

EngineChoice& conv_engine();

}  // namespace minidl

// 2-D convolution (cross-correlation, like torch.nn.functional.conv2d), NCHW.
//   y[n, k, p, q] = b[k] + sum_{c, r, s} x[n, g*C/G + c, p*sh - ph + r, q*sw - pw + s] * w[k, c, r, s]
// for output channel k in group g = k / (K/G), input channels of that group only.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl {

// Stride, zero padding and channel groups of a convolution, chained like libtorch:
//   Conv2dOptions().stride(2).padding(1)
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, group_count = 1;
  Conv2dOptions& stride(int64_t s) { stride_h = stride_w = s; return *this; }
  Conv2dOptions& stride(int64_t sh, int64_t sw) { stride_h = sh, stride_w = sw; return *this; }
  Conv2dOptions& padding(int64_t p) { pad_h = pad_w = p; return *this; }
  Conv2dOptions& padding(int64_t ph, int64_t pw) { pad_h = ph, pad_w = pw; return *this; }
  Conv2dOptions& groups(int64_t g) { group_count = g; return *this; }
};

namespace ops {
// x [N, C, H, W], weight [K, C/groups, R, S], bias [K] or undefined -> [N, K, P, Q] with
// P = (H + 2 ph - R) / sh + 1, Q = (W + 2 pw - S) / sw + 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Conv2dOptions options = {});
}  // namespace ops

}  // namespace minidl

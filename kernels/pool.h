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

}  // namespace minidl

// Binary ops with NumPy / PyTorch broadcasting: add, sub, mul, div, maximum, minimum. Shapes are
// aligned at their last dimension; each pair of sizes must be equal or one of them 1 (a missing
// leading dimension counts as 1); the result takes the larger. The gradient of an input is summed
// over the dimensions it was broadcast along, back to its own shape. ops::add / sub / mul
// (kernels/elementwise.h) come here when the shapes differ; equal shapes keep their tuned path.
//   Tensor y = ops::mul(h, scale);          // h [N, C, H, W], scale [1, C, 1, 1]
//   Tensor z = ops::div(x, ops::sum(x, 1, true));
// The formulas and their derivatives: kernels/binary_math.h, shared by the reference
// (kernels/ref/broadcast.cpp) and the CUDA kernels (kernels/cuda/broadcast.cu).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/binary_math.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

Tensor div(const Tensor& a, const Tensor& b);      // a / b
Tensor maximum(const Tensor& a, const Tensor& b);  // elementwise max (NaN propagates)
Tensor minimum(const Tensor& a, const Tensor& b);  // elementwise min (NaN propagates)
// Any op of the table, broadcasting.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// The broadcast shape of a and b, or an error naming `op` and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// The sum of g over the dimensions along which a tensor of shape `to` was broadcast to g's shape.
Tensor sum_to(const Tensor& g, const Shape& to);

}  // namespace ops

inline Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }

// Raw kernels: y has n = prod(shape) elements. binary_bwd writes the per-element partials times
// dy, output-shaped (the front-end sums them down to each input's shape); da or db may be null.
#define MINIDL_BROADCAST_KERNELS(K)                                                                         \
  K(binary_fwd, (BinaryOp op, BroadcastIndex ix, const T* a, const T* b, T* y, int64_t n))                  \
  K(binary_bwd, (BinaryOp op, BroadcastIndex ix, const T* a, const T* b, const T* dy, T* da, T* db, int64_t n))
namespace ref { MINIDL_BROADCAST_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/broadcast.cpp
namespace cuda { MINIDL_BROADCAST_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/broadcast.cu
}  // namespace minidl

// Shape ops that move data, with autograd: permute, transpose, narrow, select, cat, stack; and
// the views unsqueeze / squeeze (over ops::reshape, kernels/view.h). Names and semantics are
// PyTorch's (negative dims count from the end). minidl tensors are always contiguous, so permute,
// transpose, narrow and select return a contiguous copy (PyTorch returns a strided view: the values
// are the same, only in-place writes would differ, and minidl has no in-place ops with autograd).
//   Tensor y = ops::cat({a, b}, 1);   Tensor t = ops::permute(x, {0, 2, 3, 1});
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "kernels/binary_math.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
// Elements start .. start + length - 1 of dimension dim.
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// Element index of dimension dim, which is removed.
Tensor select(const Tensor& x, int64_t dim, int64_t index);
// Joins tensors of equal shapes but for dimension dim along it.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
// Joins tensors of equal shapes along a new dimension dim.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
// A size-1 dimension inserted at dim (in [-ndim - 1, ndim]); removed (squeeze: every size-1 one).
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x);

}  // namespace ops

// The one raw kernel: for every index i of the iteration shape ix.shape (row-major),
//   dst[dst_base + sum_d i_d b_stride[d]] = src[src_base + sum_d i_d a_stride[d]]
// (a_stride: the source's strides, b_stride: the destination's; BroadcastIndex from
// kernels/binary_math.h). permute, narrow, cat and their backwards are all this copy.
#define MINIDL_SHAPE_KERNELS(K) \
  K(strided_copy, (BroadcastIndex ix, const T* src, int64_t src_base, T* dst, int64_t dst_base, int64_t n))
namespace ref { MINIDL_SHAPE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/shape.cpp
namespace cuda { MINIDL_SHAPE_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/shape.cu
}  // namespace minidl

// On-device dtype conversion and fill, used by Tensor::to(DType) and Tensor::fill_ on CUDA.
// One thread per element (grid-stride loop).
#include "core/convert_element.h"
#include "core/cuda_context.h"
#include "core/cuda_utils.cuh"

namespace minidl::cuda {
namespace {

// convert_element: the same rule as the CPU (core/convert_element.h).
template <class Src, class Dst>
__global__ void convert_kernel(const Src* src, Dst* dst, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) dst[i] = convert_element<Dst>(src[i]);
}

template <class T>
__global__ void fill_kernel(T* dst, T value, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) dst[i] = value;
}

template <class Src>
void convert_from(const Src* src, void* dst, DType dst_dtype, int64_t n) {
  switch (dst_dtype) {
    case DType::Float32: MINIDL_LAUNCH(grid_for(n), kBlock, convert_kernel)(src, static_cast<float*>(dst), n); break;
    case DType::Float64: MINIDL_LAUNCH(grid_for(n), kBlock, convert_kernel)(src, static_cast<double*>(dst), n); break;
    case DType::Int64: MINIDL_LAUNCH(grid_for(n), kBlock, convert_kernel)(src, static_cast<int64_t*>(dst), n); break;
  }
}

}  // namespace

void convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n) {
  if (n == 0) return;
  switch (src_dtype) {
    case DType::Float32: convert_from(static_cast<const float*>(src), dst, dst_dtype, n); break;
    case DType::Float64: convert_from(static_cast<const double*>(src), dst, dst_dtype, n); break;
    case DType::Int64: convert_from(static_cast<const int64_t*>(src), dst, dst_dtype, n); break;
  }
}

void fill(void* dst, DType dtype, int64_t n, double value) {
  if (n == 0) return;
  switch (dtype) {
    case DType::Float32: MINIDL_LAUNCH(grid_for(n), kBlock, fill_kernel)(static_cast<float*>(dst), static_cast<float>(value), n); break;
    case DType::Float64: MINIDL_LAUNCH(grid_for(n), kBlock, fill_kernel)(static_cast<double*>(dst), value, n); break;
    case DType::Int64: MINIDL_LAUNCH(grid_for(n), kBlock, fill_kernel)(static_cast<int64_t*>(dst), convert_element<int64_t>(value), n); break;
  }
}

}  // namespace minidl::cuda

// The autograd engine's gradient accumulation on CUDA: y = a + b, one thread per element
// (grid-stride loop). The engine's own code (core/autograd.cpp), so core needs no op family.
#include "core/cuda_context.h"
#include "core/cuda_utils.cuh"

namespace minidl::cuda {
namespace {

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* y, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) y[i] = a[i] + b[i];
}

}  // namespace

void add(const void* a, const void* b, void* y, DType dtype, int64_t n) {
  if (n == 0) return;
  switch (dtype) {
    case DType::Float32:
      MINIDL_LAUNCH(grid_for(n), kBlock, add_kernel)(static_cast<const float*>(a), static_cast<const float*>(b),
                                                     static_cast<float*>(y), n);
      break;
    case DType::Float64:
      MINIDL_LAUNCH(grid_for(n), kBlock, add_kernel)(static_cast<const double*>(a), static_cast<const double*>(b),
                                                     static_cast<double*>(y), n);
      break;
    case DType::Int64: MINIDL_FAIL("cuda::add: gradients are float32 or float64, got int64");
  }
}

}  // namespace minidl::cuda

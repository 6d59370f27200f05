// The one rule for converting an element between dtypes (Tensor::to(DType) on every device: the
// CPU loop in core/tensor.cpp and the CUDA kernel in core/cuda_convert.cu both call this).
// Floating -> int64 truncates toward zero, like static_cast, and defines what static_cast leaves
// undefined: NaN -> 0, and values beyond the int64 range (+-inf included) saturate to INT64_MAX /
// INT64_MIN. That is what the GPU's conversion instruction (cvt.rzi.s64) does by itself; x86
// would give INT64_MIN for all of them. Every other conversion is a plain static_cast.
#pragma once
#include <cstdint>
#include <type_traits>

#ifndef MINIDL_HOST_DEVICE
#if defined(__CUDACC__)
#define MINIDL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MINIDL_HOST_DEVICE inline
#endif
#endif

namespace minidl {

template <class Dst, class Src>
MINIDL_HOST_DEVICE Dst convert_element(Src v) {
  if constexpr (std::is_same<Dst, int64_t>::value && std::is_floating_point<Src>::value) {
    constexpr double kTwo63 = 9223372036854775808.0;  // 2^63: the first double past INT64_MAX
    const double d = static_cast<double>(v);
    if (d != d) return 0;  // NaN
    if (d >= kTwo63) return INT64_MAX;
    if (d < -kTwo63) return INT64_MIN;
    return static_cast<int64_t>(d);
  } else {
    return static_cast<Dst>(v);
  }
}

}  // namespace minidl

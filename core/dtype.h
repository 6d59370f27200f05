// Element types. Kernels are templates instantiated for float and double (double is what the
// gradient checks use). Int64 exists only to carry class labels into nll_loss / cross_entropy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>

#include "core/error.h"

namespace minidl {

enum class DType : uint8_t { Float32, Float64, Int64 };

inline size_t dtype_size(DType t) { return t == DType::Float32 ? 4 : 8; }
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "?";
}
inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }

// dispatch_floating(dtype, what, fn) calls fn(float{}) or fn(double{}); inside, recover the type
// with `using T = decltype(tag);`. `what` names the op for the error on other dtypes.
template <class Fn>
decltype(auto) dispatch_floating(DType t, const char* what, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: break;
  }
  MINIDL_FAIL(what, ": expected a float32 or float64 tensor, got ", dtype_name(t));
}

}  // namespace minidl

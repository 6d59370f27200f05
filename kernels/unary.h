// Pointwise unary math with autograd: exp, log, sqrt, sigmoid, tanh, gelu, leaky_relu, elu,
// softplus, hardswish, pow, clamp, ... Names, defaults and semantics are PyTorch's
// (torch.exp, torch.nn.functional.gelu(approximate=...), F.leaky_relu(negative_slope=0.01), ...).
// The formulas and their derivatives are in kernels/unary_math.h, shared by both engines: the
// plain-loop reference on the CPU (kernels/ref/unary.cpp) and the CUDA kernels
// (kernels/cuda/unary.cu). float32 and float64; any shape; outside a function's domain the result
// is what the C math library gives (log(-1) = NaN, as in PyTorch).
//   Tensor y = ops::gelu(x, "tanh");   Tensor z = ops::clamp(x, 0.0, 6.0);
#pragma once
#include <cstdint>
#include <limits>
#include <string>

#include "core/tensor.h"
#include "kernels/kernel_list.h"
#include "kernels/unary_math.h"

namespace minidl {
namespace ops {

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor neg(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// approximate: "none" (exact, with erf) or "tanh", as torch.nn.functional.gelu.
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor hardswish(const Tensor& x);
Tensor mish(const Tensor& x);  // x * tanh(softplus(x)), torch.nn.functional.mish
Tensor pow(const Tensor& x, double exponent);  // x^exponent, elementwise
// min(max(x, min), max); either bound may be infinite (clamp_min / clamp_max).
Tensor clamp(const Tensor& x, double min, double max);
inline Tensor clamp_min(const Tensor& x, double min) { return clamp(x, min, std::numeric_limits<double>::infinity()); }
inline Tensor clamp_max(const Tensor& x, double max) { return clamp(x, -std::numeric_limits<double>::infinity(), max); }

// Any op of the table with its parameters (a, b: see kernels/unary_math.h).
Tensor unary(UnaryOp op, const Tensor& x, double a = 0, double b = 0);

}  // namespace ops

// Raw kernels: n elements, contiguous; identical signatures on both devices.
//   unary_fwd: y = f(x; a, b)          unary_bwd: dx = dy * f'(x; a, b) (from x and y = f(x))
#define MINIDL_UNARY_KERNELS(K)                                                               \
  K(unary_fwd, (UnaryOp op, T a, T b, const T* x, T* y, int64_t n))                           \
  K(unary_bwd, (UnaryOp op, T a, T b, const T* x, const T* y, const T* dy, T* dx, int64_t n))
namespace ref { MINIDL_UNARY_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/unary.cpp
namespace cuda { MINIDL_UNARY_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/unary.cu
}  // namespace minidl

// Elementwise ops: add, sub, mul, scalar affine (x * a + b), relu, silu; and in-place helpers the
// engine and the optimizers use. add, sub and mul of equal shapes run here (tuned CPU engine);
// different shapes broadcast as in PyTorch (kernels/broadcast.h, with div, maximum, minimum).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

Tensor add(const Tensor& a, const Tensor& b);   // a + b (broadcasting)
Tensor sub(const Tensor& a, const Tensor& b);   // a - b (broadcasting)
Tensor mul(const Tensor& a, const Tensor& b);   // a * b (elementwise, broadcasting)
Tensor affine(const Tensor& x, double scale, double shift);  // x * scale + shift
Tensor relu(const Tensor& x);                   // max(x, 0)
Tensor silu(const Tensor& x);                   // x * sigmoid(x) (PyTorch's SiLU, also called swish)

// In place, no autograd (for the engine's accumulation and optimizer updates): a += alpha * b
// (equal shapes).
void add_(Tensor& a, const Tensor& b, double alpha = 1.0);
// In place, no autograd: a *= scale.
void scale_(Tensor& a, double scale);

}  // namespace ops

inline Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return ops::affine(a, 1.0, s); }
inline Tensor operator-(const Tensor& a, double s) { return ops::affine(a, 1.0, -s); }
inline Tensor operator*(const Tensor& a, double s) { return ops::affine(a, s, 0.0); }
inline Tensor operator/(const Tensor& a, double s) { return ops::affine(a, 1.0 / s, 0.0); }
inline Tensor operator*(double s, const Tensor& a) { return ops::affine(a, s, 0.0); }
inline Tensor operator-(const Tensor& a) { return ops::affine(a, -1.0, 0.0); }

// Raw kernels: n elements, contiguous; identical signatures on both devices.
#define MINIDL_ELEMENTWISE_KERNELS(K)                                                                          \
  K(axpby, (T alpha, const T* a, T beta, const T* b, T* y, int64_t n))                                         \
  K(mul, (const T* a, const T* b, T* y, int64_t n))                                                            \
  K(affine, (const T* x, T scale, T shift, T* y, int64_t n))                                                   \
  K(relu_fwd, (const T* x, T* y, int64_t n))                                                                   \
  K(relu_bwd, (const T* y, const T* dy, T* dx, int64_t n))                                                     \
  K(silu_fwd, (const T* x, T* y, int64_t n))                                                                   \
  K(silu_bwd, (const T* x, const T* dy, T* dx, int64_t n))
namespace ref { MINIDL_ELEMENTWISE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/elementwise.cpp
namespace cpu { MINIDL_ELEMENTWISE_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/cpu/elementwise.cpp (tuned)
namespace cuda { MINIDL_ELEMENTWISE_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/elementwise.cu

// The engine choice of the elementwise ops (kernels/elementwise.cpp; see kernels/engine.h): on CPU
// tensors cpu (the default) or ref; on CUDA tensors cuda. MINIDL_ELEMENTWISE_ENGINE=ref.
EngineChoice& elementwise_engine();
}  // namespace minidl

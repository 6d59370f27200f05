// Matrix products: matmul (2-D) and linear (y = x W^T + b, like torch.nn.functional.linear),
// plus the GEMM and bias kernels that conv2d reuses.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl {
namespace ops {

Tensor matmul(const Tensor& a, const Tensor& b);  // [M, K] x [K, N] -> [M, N]
// x [N, in], weight [out, in], bias [out] or undefined -> [N, out]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace ops

// gemm: C[M, N] = alpha * op(A) * op(B) + beta * C, all row-major, op(X) = X^T when the flag is
//       set; lda / ldb / ldc are the row strides of A, B, C as stored.
// bias_add: y[o, c, i] += b[c] for y viewed as [outer, C, inner] (linear: outer=N, inner=1;
//       conv: outer=N, inner=H*W).
// bias_bwd: db[c] = sum_{o, i} dy[o, c, i].
#define MINIDL_LINEAR_KERNELS                                                                   \
  template <class T> void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, \
                               const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc); \
  template <class T> void bias_add(T* y, const T* b, int64_t outer, int64_t C, int64_t inner);   \
  template <class T> void bias_bwd(const T* dy, T* db, int64_t outer, int64_t C, int64_t inner);
namespace cpu { MINIDL_LINEAR_KERNELS }
namespace cuda { MINIDL_LINEAR_KERNELS }
#undef MINIDL_LINEAR_KERNELS

}  // namespace minidl

// Matrix products: matmul (2-D) and linear (y = x W^T + b, like torch.nn.functional.linear),
// plus the GEMM and bias kernels that conv2d reuses.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "kernels/engine.h"
#include "kernels/kernel_list.h"

namespace minidl {
namespace ops {

Tensor matmul(const Tensor& a, const Tensor& b);  // [M, K] x [K, N] -> [M, N]
// x [N, in], weight [out, in], bias [out] or undefined -> [N, out]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace ops

// gemm: C[M, N] = alpha * op(A) * op(B) + beta * C, all row-major, op(X) = X^T when the flag is
//       set; lda / ldb / ldc are the row strides of A, B, C as stored. beta == 0 never reads C.
// bias_add: y[o, c, i] += b[c] for y viewed as [outer, C, inner] (linear: outer=N, inner=1;
//       conv: outer=N, inner=H*W).
// bias_bwd: db[c] = sum_{o, i} dy[o, c, i].
#define MINIDL_GEMM_KERNEL(K)                                                                                  \
  K(gemm, (bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,      \
      const T* B, int64_t ldb, T beta, T* C, int64_t ldc))
#define MINIDL_BIAS_KERNELS(K)                                                                                 \
  K(bias_add, (T* y, const T* b, int64_t outer, int64_t C, int64_t inner))                                     \
  K(bias_bwd, (const T* dy, T* db, int64_t outer, int64_t C, int64_t inner))
namespace ref {  // kernels/ref/linear.cpp
MINIDL_GEMM_KERNEL(MINIDL_DECLARE_KERNEL)
MINIDL_BIAS_KERNELS(MINIDL_DECLARE_KERNEL)
}  // namespace ref
namespace cpu { MINIDL_GEMM_KERNEL(MINIDL_DECLARE_KERNEL) }                       // kernels/cpu/linear.cpp (Eigen)
namespace cuda {  // kernels/cuda/linear.cu
MINIDL_GEMM_KERNEL(MINIDL_DECLARE_KERNEL)
MINIDL_BIAS_KERNELS(MINIDL_DECLARE_KERNEL)
}  // namespace cuda
namespace cublas { MINIDL_GEMM_KERNEL(MINIDL_DECLARE_KERNEL) }                    // kernels/cudnn/linear.cu

// The engine choice of gemm, behind matmul and linear (kernels/linear.cpp; see kernels/engine.h):
// CPU cpu (Eigen, the default) or ref; CUDA cuda (the default) or cublas. MINIDL_GEMM_ENGINE=ref.
// bias_add and bias_bwd run ref on the CPU and cuda on CUDA.
EngineChoice& gemm_engine();

}  // namespace minidl

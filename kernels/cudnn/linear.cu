// cuBLAS's GEMM: the vendor engine of gemm (gemm_engine().set(Engine::Cublas) or
// MINIDL_GEMM_ENGINE=cublas), behind matmul and linear. Same math as kernels/ref/linear.cpp:
//   C[M, N] = alpha * op(A) op(B) + beta * C, row-major, op(X) = X^T when flagged.
// cuBLAS is column-major: row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so it
// is called with the operands swapped. The handle runs plain FP32 math (no TF32: vendor.cu).
// The front-end never calls it with K == 0 (cuBLAS rejects the leading dimension 0 that such an
// A or B has; kernels/linear.cpp writes the zeros itself).
#include <algorithm>
#include <climits>

#include "kernels/cudnn/vendor.cuh"
#include "kernels/linear.h"

namespace minidl::cublas {
namespace {

cublasStatus_t gemm_call(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float* alpha,
                         const float* A, int lda, const float* B, int ldb, const float* beta, float* C, int ldc) {
  return cublasSgemm(handle(), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t gemm_call(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const double* alpha,
                         const double* A, int lda, const double* B, int ldb, const double* beta, double* C, int ldc) {
  return cublasDgemm(handle(), ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  MINIDL_CHECK(K > 0, "gemm (cublas): K = 0 is the front-end's case (kernels/linear.cpp), not cuBLAS's");
  // cuBLAS takes int sizes and leading dimensions.
  MINIDL_CHECK(std::max({M, N, K, lda, ldb, ldc}) <= INT_MAX, "gemm (cublas): sizes M=", M, ", N=", N, ", K=", K,
               " (lda ", lda, ", ldb ", ldb, ", ldc ", ldc, ") do not fit cuBLAS's int; use the cuda engine");
  MINIDL_CUBLAS_CHECK(gemm_call(trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, B,
                                static_cast<int>(ldb), A, static_cast<int>(lda), &beta, C, static_cast<int>(ldc)));
}

#define MINIDL_KERNELS(K) MINIDL_GEMM_KERNEL(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cublas

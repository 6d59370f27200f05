// The tuned CPU GEMM (the default on the CPU; the plain reference is kernels/ref/linear.cpp):
//   gemm: C = alpha * op(A) op(B) + beta * C through Eigen's blocked, vectorized product (Eigen
//         splits large products across the OpenMP threads by itself, and runs single-threaded
//         when called from inside a parallel region, e.g. per image in cpu/conv.cpp).
#include <Eigen/Core>

#include "kernels/linear.h"

namespace minidl::cpu {

namespace {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ConstMap = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using MutMap = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;

template <class T, class OpA, class OpB>
void product(const OpA& a, const OpB& b, T alpha, T beta, MutMap<T>& c) {
  if (beta == T(0)) {
    c.noalias() = alpha * (a * b);
  } else {
    if (beta != T(1)) c *= beta;
    c.noalias() += alpha * (a * b);
  }
}
}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  MutMap<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  // A is stored as [M, K] (or [K, M] when transposed); B as [K, N] (or [N, K]).
  ConstMap<T> a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  ConstMap<T> b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  if (!trans_a && !trans_b) product(a, b, alpha, beta, c);
  else if (trans_a && !trans_b) product(a.transpose(), b, alpha, beta, c);
  else if (!trans_a && trans_b) product(a, b.transpose(), alpha, beta, c);
  else product(a.transpose(), b.transpose(), alpha, beta, c);
}

#define MINIDL_KERNELS(K) MINIDL_GEMM_KERNEL(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

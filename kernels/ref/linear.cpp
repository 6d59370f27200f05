// The linear-family reference (runs on the CPU): the executable specification of
// kernels/cpu/linear.cpp (Eigen), kernels/cuda/linear.cu and cuBLAS (kernels/cudnn/linear.cu).
//   gemm:     C[i, j] = alpha * sum_k op(A)[i, k] op(B)[k, j] + beta * C[i, j]   (sum in double;
//             beta == 0 never reads C, which may hold garbage)
//   bias_add: y[o, c, i] += b[c]
//   bias_bwd: db[c] = sum_{o, i} dy[o, c, i]   (in double)
// OpenMP over the rows of C / the channels.
#include "kernels/linear.h"

namespace minidl::ref {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  // op(A)(i, k) and op(B)(k, j) as stored: A is [M, K] (or [K, M] when transposed), B [K, N] (or [N, K]).
  auto a = [&](int64_t i, int64_t k) { return trans_a ? A[k * lda + i] : A[i * lda + k]; };
  auto b = [&](int64_t k, int64_t j) { return trans_b ? B[j * ldb + k] : B[k * ldb + j]; };
#pragma omp parallel for
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(a(i, k)) * b(k, j);
      T& c = C[i * ldc + j];
      c = beta == T(0) ? static_cast<T>(alpha * acc) : static_cast<T>(alpha * acc + beta * c);
    }
}

template <class T>
void bias_add(T* y, const T* b, int64_t outer, int64_t C, int64_t inner) {
#pragma omp parallel for collapse(2)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < C; ++c) {
      T* row = y + (o * C + c) * inner;
      const T bc = b[c];
      for (int64_t i = 0; i < inner; ++i) row[i] += bc;
    }
}

template <class T>
void bias_bwd(const T* dy, T* db, int64_t outer, int64_t C, int64_t inner) {
#pragma omp parallel for
  for (int64_t c = 0; c < C; ++c) {
    double acc = 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = dy + (o * C + c) * inner;
      for (int64_t i = 0; i < inner; ++i) acc += row[i];
    }
    db[c] = static_cast<T>(acc);
  }
}

#define MINIDL_KERNELS(K) MINIDL_GEMM_KERNEL(K) MINIDL_BIAS_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

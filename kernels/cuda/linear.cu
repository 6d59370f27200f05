// CUDA GEMM and bias kernels (same math as kernels/ref/linear.cpp).
//   gemm: C[M, N] = alpha * op(A) op(B) + beta * C, row-major; op(X) = X^T when flagged.
//     A shared-memory tiled kernel. Each 256-thread block computes a
//     64x64 tile of C; it walks K in steps of 16, staging a 64x16 slice of op(A) and a 16x64
//     slice of op(B) in shared memory (loaded along whichever axis is contiguous in memory, so
//     loads coalesce for every transpose combination); each thread accumulates a 4x4 block of C
//     in registers, reading its rows ty + 16m and columns tx + 16n (strided, so the 16 threads
//     of a half-warp hit 16 different shared-memory banks). Column tiles are grid x, row tiles
//     grid y; a block strides over row tiles (gridDim.y is capped at 65535, i.e. M < 4.2M rows).
//     beta == 0 never reads C (it may hold garbage). (cuBLAS, the other engine: kernels/cudnn/linear.cu.)
//   bias_add: y[o, c, i] += b[c]            one thread per element.
//   bias_bwd: db[c] = sum_{o, i} dy[o, c, i] one block per channel, block reduction in double.
//   The GEMM accumulates in T (float for float32), as cuBLAS does: each output sums only K
//   products, in registers.
#include <algorithm>

#include "core/cuda_utils.cuh"
#include "kernels/linear.h"

namespace minidl::cuda {
namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;  // 16x16 threads, 4x4 outputs each

template <class T>
__global__ void __launch_bounds__(256) gemm_tiled_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha,
                                                         const T* __restrict__ A, int64_t lda, const T* __restrict__ B,
                                                         int64_t ldb, T beta, T* __restrict__ C, int64_t ldc) {
  __shared__ T As[BK][BM + 1];  // As[k][i] = op(A)(row0 + i, k0 + k)
  __shared__ T Bs[BK][BN + 1];  // Bs[k][j] = op(B)(k0 + k, col0 + j)
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * BN;
  // The row-tile loop bound is the same for the whole block: every thread reaches the barriers.
  for (int64_t row0 = static_cast<int64_t>(blockIdx.y) * BM; row0 < M; row0 += static_cast<int64_t>(gridDim.y) * BM) {
    T acc[TM][TN] = {};
    for (int64_t k0 = 0; k0 < K; k0 += BK) {
      for (int l = tid; l < BM * BK; l += 256) {
        // op(A)(i, k): A[i, k] (contiguous in k) or A[k, i] (contiguous in i).
        const int i = ta ? l % BM : l / BK, k = ta ? l / BM : l % BK;
        const int64_t gi = row0 + i, gk = k0 + k;
        As[k][i] = (gi < M && gk < K) ? (ta ? A[gk * lda + gi] : A[gi * lda + gk]) : T(0);
      }
      for (int l = tid; l < BK * BN; l += 256) {
        // op(B)(k, j): B[k, j] (contiguous in j) or B[j, k] (contiguous in k).
        const int j = tb ? l / BK : l % BN, k = tb ? l % BK : l / BN;
        const int64_t gj = col0 + j, gk = k0 + k;
        Bs[k][j] = (gj < N && gk < K) ? (tb ? B[gj * ldb + gk] : B[gk * ldb + gj]) : T(0);
      }
      __syncthreads();
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        T a[TM], b[TN];
#pragma unroll
        for (int m = 0; m < TM; ++m) a[m] = As[k][ty + 16 * m];
#pragma unroll
        for (int n = 0; n < TN; ++n) b[n] = Bs[k][tx + 16 * n];
#pragma unroll
        for (int m = 0; m < TM; ++m)
#pragma unroll
          for (int n = 0; n < TN; ++n) acc[m][n] += a[m] * b[n];
      }
      __syncthreads();
    }
#pragma unroll
    for (int m = 0; m < TM; ++m)
#pragma unroll
      for (int n = 0; n < TN; ++n) {
        const int64_t gi = row0 + ty + 16 * m, gj = col0 + tx + 16 * n;
        if (gi < M && gj < N) {
          T* c = C + gi * ldc + gj;
          *c = beta == T(0) ? alpha * acc[m][n] : alpha * acc[m][n] + beta * *c;
        }
      }
  }
}

template <class T>
__global__ void bias_add_kernel(T* y, const T* b, int64_t C, int64_t inner, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(idx, n) y[idx] += b[(idx / inner) % C];
}

// The sum runs over every pixel of the batch (e.g. 512 x 32 x 32): double accumulators, as on
// the CPU, keep float32's precision.
template <class T>
__global__ void bias_bwd_kernel(const T* dy, T* db, int64_t outer, int64_t C, int64_t inner) {
  const int64_t c = blockIdx.x;
  double acc = 0;
  for (int64_t idx = threadIdx.x; idx < outer * inner; idx += blockDim.x) {
    const int64_t o = idx / inner, i = idx % inner;
    acc += dy[(o * C + c) * inner + i];
  }
  acc = block_reduce_sum(acc);
  if (threadIdx.x == 0) db[c] = static_cast<T>(acc);
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const dim3 grid(static_cast<unsigned>((N + BN - 1) / BN),
                  static_cast<unsigned>(std::min<int64_t>((M + BM - 1) / BM, 65535)));
  MINIDL_LAUNCH(grid, 256, gemm_tiled_kernel)(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class T>
void bias_add(T* y, const T* b, int64_t outer, int64_t C, int64_t inner) {
  const int64_t n = outer * C * inner;
  if (n == 0) return;
  MINIDL_LAUNCH(grid_for(n), kBlock, bias_add_kernel)(y, b, C, inner, n);
}

template <class T>
void bias_bwd(const T* dy, T* db, int64_t outer, int64_t C, int64_t inner) {
  if (C == 0) return;
  MINIDL_LAUNCH(static_cast<unsigned>(C), kBlock, bias_bwd_kernel)(dy, db, outer, C, inner);
}

#define MINIDL_KERNELS(K) MINIDL_GEMM_KERNEL(K) MINIDL_BIAS_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

// Helpers for the .cu files (and the few .cpp files that call the CUDA runtime directly): the
// error-check macro that throws minidl::Error with file:line and the decoded message, the one
// stream every kernel runs on, the launch helper, and the block reductions kernels share.
// (cuBLAS and cuDNN are the vendor engines' business: kernels/cudnn/vendor.cuh.)
//
//   MINIDL_LAUNCH(grid_for(n), kBlock, my_kernel)(x, y, n);
//   MINIDL_LAUNCH(grid, kThreads, conv_kernel<T, Mode::Forward, 128, 64, 8, 4>)(args);
//
// Every kernel launch goes through MINIDL_LAUNCH. Under nvcc it is exactly
// `kernel<<<grid, block, 0, stream()>>>(args);` (template arguments are deduced from the
// arguments as usual; the kernel comes last so commas in its template arguments need no
// parentheses) followed by the launch check: with MINIDL_CUDA_SYNC=1 the check also
// synchronizes, so an asynchronous fault is reported at the kernel that caused it. In the CUDA
// interpreter build (MINIDL_CUDA=EMULATE, core/cuda_emulation.h) the same line runs the kernel
// on the CPU and the check reports what the interpreter found.
#pragma once
#if MINIDL_CUDA_EMULATION
#include "core/cuda_emulation.h"
#else
#include <cuda_runtime.h>
#endif

#include <cstdint>

#include "core/error.h"

namespace minidl::cuda {

cudaStream_t stream();
bool sync_after_launch();  // MINIDL_CUDA_SYNC=1
// Throws minidl::Error (at file:line, the launch site) when the last launch failed.
void launch_check(const char* file, int line);

// MINIDL_LAUNCH's check: its for-loop runs the launch (the loop body) once, then check().
class LaunchCheck {
 public:
  LaunchCheck(const char* file, int line) : file_(file), line_(line) {}
  bool pending() const { return pending_; }
  void check() {
    pending_ = false;
    launch_check(file_, line_);
  }

 private:
  const char* file_;
  int line_;
  bool pending_ = true;
};

constexpr int kBlock = 256;  // threads per block for elementwise (grid-stride) kernels
// Enough blocks to cover n elements with kBlock threads, capped: the grid-stride loop does the rest.
inline unsigned grid_for(int64_t n, int block = kBlock) {
  const int64_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

#if defined(__CUDACC__) || MINIDL_CUDA_EMULATION
// Sum of v over the whole block (every thread gets the result). blockDim.x must be a multiple
// of 32 and at most 1024. Warp shuffles first, then one value per warp through shared memory.
template <class T>
__device__ T block_reduce_sum(T v) {
  __shared__ T warp_sums[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
  __syncthreads();  // warp_sums may still be read by a previous call
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  // Only warp 0 reads the per-warp sums, so its lane 0 may overwrite warp_sums[0] afterwards
  // without a race (the shuffles order the reads of warp 0 before that write).
  if (warp == 0) {
    const int nwarps = blockDim.x / 32;
    T total = lane < nwarps ? warp_sums[lane] : T(0);
    for (int off = 16; off > 0; off /= 2) total += __shfl_down_sync(0xffffffffu, total, off);
    if (lane == 0) warp_sums[0] = total;
  }
  __syncthreads();
  return warp_sums[0];
}
__device__ inline float dexp(float v) { return expf(v); }
__device__ inline double dexp(double v) { return exp(v); }
__device__ inline float dlog(float v) { return logf(v); }
__device__ inline double dlog(double v) { return log(v); }
template <class T>
__device__ inline T dmax(T a, T b) { return a < b ? b : a; }  // std::max's semantics, as on the CPU
template <class T>
__device__ inline T neg_inf() { return -static_cast<T>(INFINITY); }

// Max over the whole block, every thread gets it (block_reduce_sum's pattern).
template <class T>
__device__ T block_reduce_max(T v) {
  __shared__ T warp_max[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int off = 16; off > 0; off /= 2) v = dmax(v, __shfl_down_sync(0xffffffffu, v, off));
  __syncthreads();  // warp_max may still be read by a previous call
  if (lane == 0) warp_max[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int nwarps = blockDim.x / 32;
    T total = lane < nwarps ? warp_max[lane] : neg_inf<T>();
    for (int off = 16; off > 0; off /= 2) total = dmax(total, __shfl_down_sync(0xffffffffu, total, off));
    if (lane == 0) warp_max[0] = total;
  }
  __syncthreads();
  return warp_max[0];
}

// Reductions over the W lanes of a group (every lane gets the result); W = 0: the whole block.
// All 32 lanes of a warp must call them (full mask), including lanes whose row is past the end.
// Used by the row kernels of softmax.cu and loss.cu (W = the power of two >= the row length).
template <int W, class T>
__device__ T group_max(T v) {
  if constexpr (W == 0) {
    return block_reduce_max(v);
  } else {
    for (int off = W / 2; off > 0; off /= 2) v = dmax(v, __shfl_xor_sync(0xffffffffu, v, off, W));
    return v;
  }
}
template <int W, class T>
__device__ T group_sum(T v) {
  if constexpr (W == 0) {
    return block_reduce_sum(v);
  } else {
    for (int off = W / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off, W);
    return v;
  }
}
#endif

}  // namespace minidl::cuda

// for (i over [0, n)) spread over the whole grid: thread t handles t, t + grid size, ...
#define MINIDL_GRID_STRIDE_LOOP(i, n)                                                      \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// A failed call also leaves its error as the runtime's "last error": it is consumed here
// (cudaGetLastError), so the next launch check does not report it a second time, elsewhere.
#define MINIDL_CUDA_CHECK(expr)                                                                  \
  do {                                                                                           \
    const cudaError_t err_ = (expr);                                                             \
    if (err_ != cudaSuccess) {                                                                   \
      cudaGetLastError();                                                                        \
      ::minidl::detail::throw_error(__FILE__, __LINE__, ::minidl::str("CUDA error in ", #expr, ": ", \
                                    cudaGetErrorName(err_), " (", cudaGetErrorString(err_), ")")); \
    }                                                                                            \
  } while (0)

// MINIDL_LAUNCH(grid, block, kernel)(args...): see the top of this file.
#if MINIDL_CUDA_EMULATION
#define MINIDL_LAUNCH(grid, block, ...)                                                               \
  for (::minidl::cuda::LaunchCheck minidl_launch_(__FILE__, __LINE__); minidl_launch_.pending();      \
       minidl_launch_.check())                                                                        \
  ::minidl::emu::kernel_launch((grid), (block), #__VA_ARGS__, __FILE__, __LINE__, [](auto&&... minidl_a_) { \
    __VA_ARGS__(static_cast<decltype(minidl_a_)&&>(minidl_a_)...);                                    \
  })
#else
#define MINIDL_LAUNCH(grid, block, ...)                                                          \
  for (::minidl::cuda::LaunchCheck minidl_launch_(__FILE__, __LINE__); minidl_launch_.pending(); \
       minidl_launch_.check())                                                                   \
  __VA_ARGS__<<<(grid), (block), 0, ::minidl::cuda::stream()>>>
#endif

// The CUDA interpreter (MINIDL_CUDA=EMULATE): the same .cu sources, compiled by the host C++
// compiler, run every kernel on the CPU. No CUDA toolkit, cuBLAS or cuDNN is involved; this
// header stands in for <cuda_runtime.h> and provides exactly what minidl's kernels use.
//
// The model (like Triton's interpreter mode or Numba's CUDA simulator):
// - A launch runs synchronously on the calling thread (the stream is always idle afterwards).
//   Blocks run one after another; the threads of a block are fibers (each with its own stack)
//   on one OS thread. A fiber runs until it reaches __syncthreads(), a shuffle, or its end; when
//   every thread of the block is waiting, the scheduler releases the barrier or completes the
//   shuffles and the next round starts. Nothing runs in parallel inside a kernel, so results
//   are deterministic; MINIDL_EMU_ORDER=reverse|shuffle changes the order in which a block's
//   threads run between two synchronization points, which exposes a missing barrier as a
//   different (wrong) result.
// - threadIdx, blockIdx, blockDim and gridDim are per-OS-thread variables the scheduler sets
//   before it resumes a fiber. __shared__ variables are function-local statics: one block runs
//   at a time in the whole process (launches hold one lock: there is one stream), so one instance
//   is per block; it keeps the previous block's values, as uninitialized shared memory would, and
//   as an ordinary global it gets AddressSanitizer's redzones (out-of-bounds shared accesses).
// - Device memory is host heap memory, one malloc per cudaMalloc (exact size, filled with 0xFF
//   bytes so a kernel that reads memory it never wrote sees NaN / -1), so AddressSanitizer sees
//   every out-of-bounds access. Without ASan, 64 guard bytes on each side of every allocation are
//   checked after each launch (out-of-bounds writes), and pointer arguments of a kernel must
//   point into a device allocation (a host pointer would fault on a GPU).
// - The interpreter reports, naming the kernel, its launch site, the block and the threads:
//   __syncthreads() not reached by every thread of the block (a thread returned early, or the
//   threads wait at different barriers); a shuffle whose waiting lanes differ from its mask (or
//   that reads a lane outside it); an invalid configuration (more than 1024 threads per block,
//   grid dimensions beyond 2^31-1 x 65535 x 65535, an empty grid or block). Each report makes
//   the launch fail: MINIDL_LAUNCH's check throws minidl::Error with it. (Static shared memory
//   over 48 KB is a compile-time error of ptxas in the nvcc build; see docs/architecture.md.)
// What only a GPU shows: speed, the memory model of real concurrency (the interpreter never runs
// two threads at once, so a data race that the thread order does not expose goes unseen; use
// compute-sanitizer racecheck), floating-point differences of fused multiply-add, and cuBLAS /
// cuDNN, which do not exist here (selecting them throws; see kernels/engine.h).
#pragma once
#include <math.h>  // the C++ <math.h> also puts the float overloads (sqrt(float), isnan) in ::

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#if !MINIDL_CUDA_EMULATION
#error "core/cuda_emulation.h is only for the MINIDL_CUDA=EMULATE build"
#endif

// ---- keywords and attributes ---------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

// ---- built-in types and variables ----------------------------------------------------------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
extern __thread uint3 threadIdx;
extern __thread uint3 blockIdx;
extern __thread dim3 blockDim;
extern __thread dim3 gridDim;

// ---- CUDA's global min / max (the float versions are fminf / fmaxf) ------------------------------
template <class T, class = std::enable_if_t<std::is_integral_v<T>>>
inline T min(T a, T b) { return b < a ? b : a; }
template <class T, class = std::enable_if_t<std::is_integral_v<T>>>
inline T max(T a, T b) { return a < b ? b : a; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }

// ---- the runtime API, on host memory (core/cuda_emulation.cpp) -----------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
};
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
struct CUstream_st;
using cudaStream_t = CUstream_st*;
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaHostAllocMapped = 2;
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int maxThreadsPerBlock;
  int multiProcessorCount;
  int major, minor;
};

cudaError_t cudaMalloc(void** ptr, size_t size);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaHostAlloc(void** ptr, size_t size, unsigned flags);
cudaError_t cudaHostGetDevicePointer(void** device_ptr, void* host_ptr, unsigned flags);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaGetLastError();
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);

// ---- the interpreter's scheduler (core/cuda_emulation_run.cpp) -----------------------------------
namespace minidl::emu {

enum class ShuffleKind { Down, Xor };
// Called by a thread inside a kernel: waits for the rest of its block / its warp's lanes.
void syncthreads(const char* file, int line);
uint64_t shuffle(ShuffleKind kind, unsigned mask, uint64_t bits, unsigned lane_arg, int width, const char* file,
                 int line);

// The order in which the scheduler runs the runnable threads of a block in every round.
// Default: MINIDL_EMU_ORDER (forward, reverse or shuffle; MINIDL_EMU_SEED seeds shuffle).
enum class ThreadOrder { Forward, Reverse, Shuffle };
void set_thread_order(ThreadOrder order, uint64_t seed = 0);
ThreadOrder thread_order();

// One launch: the configuration, what the diagnostics call the kernel, and a type-erased call
// of the kernel body for the current thread.
struct LaunchInfo {
  dim3 grid, block;
  const char* kernel;  // the kernel expression as written at the launch site
  const char* file;
  int line;
};
void run_kernel(const LaunchInfo& info, void (*body)(void*), void* ctx);

// True when p lies inside a live device allocation (or is null).
bool is_device_pointer(const void* p);
// Records a launch failure for cudaGetLastError() and its detail for the launch check.
void fail_launch(cudaError_t error, const LaunchInfo& info, const char* what);
// The detail of the last failed launch on this thread, cleared by the call ("" if none).
const char* take_launch_report();

template <class T>
bool arg_on_device(const T& v) {
  if constexpr (std::is_pointer_v<T>) return is_device_pointer(static_cast<const void*>(v));
  else return true;
}

// What MINIDL_LAUNCH builds: info plus the kernel call as a generic lambda (so the kernel's
// template arguments are deduced from the arguments exactly as with <<<>>>), applied to the
// launch arguments, which are copied once, as a real launch copies them.
template <class Body>
struct KernelLaunch {
  LaunchInfo info;
  Body body;
  template <class... A>
  void operator()(A&&... args) const {
    std::tuple<std::decay_t<A>...> params(std::forward<A>(args)...);
    int index = 0, bad = -1;
    std::apply([&](const auto&... p) { ((bad < 0 && !arg_on_device(p) ? bad = index : 0, ++index), ...); }, params);
    if (bad >= 0) {
      char what[96];
      std::snprintf(what, sizeof what, "argument %d is a pointer outside every device allocation (host memory?)",
                    bad + 1);
      fail_launch(cudaErrorInvalidDevicePointer, info, what);
      return;
    }
    struct Ctx {
      const Body* body;
      std::tuple<std::decay_t<A>...>* params;
    } ctx{&body, &params};
    run_kernel(info, [](void* c) {
      auto* x = static_cast<Ctx*>(c);
      std::apply(*x->body, *x->params);  // lvalues: the kernel's by-value parameters copy them per thread
    }, &ctx);
  }
};
template <class Body>
KernelLaunch<Body> kernel_launch(dim3 grid, dim3 block, const char* kernel, const char* file, int line, Body body) {
  return {{grid, block, kernel, file, line}, body};
}

}  // namespace minidl::emu

// ---- synchronization and warp shuffles -----------------------------------------------------------
// The default arguments name the call site in the interpreter's reports.
inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  ::minidl::emu::syncthreads(file, line);
}

namespace minidl::emu {
template <class T>
T shuffle_as(ShuffleKind kind, unsigned mask, T var, unsigned lane_arg, int width, const char* file, int line) {
  static_assert(std::is_arithmetic_v<T> && sizeof(T) <= 8, "shuffles move int, float, double and the like");
  uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = shuffle(kind, mask, bits, lane_arg, width, file, line);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}
}  // namespace minidl::emu

template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32, const char* file = __builtin_FILE(),
                   int line = __builtin_LINE()) {
  return ::minidl::emu::shuffle_as(::minidl::emu::ShuffleKind::Down, mask, var, delta, width, file, line);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32, const char* file = __builtin_FILE(),
                  int line = __builtin_LINE()) {
  return ::minidl::emu::shuffle_as(::minidl::emu::ShuffleKind::Xor, mask, var, static_cast<unsigned>(lane_mask),
                                   width, file, line);
}

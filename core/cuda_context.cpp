// The CUDA context: availability, the stream, copies, launch checks and the data-error slot.
// (The cuBLAS and cuDNN handles belong to their engines: kernels/cudnn/vendor.cu.) Compiled in
// every build; without the CUDA backend only is_available() / device_count() answer (false / 0)
// and the rest reports that CUDA was not built. In the CUDA interpreter build the runtime calls
// below are those of core/cuda_emulation.cpp.
#include "core/cuda_context.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/env.h"
#include "core/error.h"

#if MINIDL_WITH_CUDA
#include "core/cuda_utils.cuh"
#endif

namespace minidl::cuda {

#if MINIDL_WITH_CUDA

int device_count() {
  // Any error here (no driver, no device, a driver too old for this runtime) means "no GPU".
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error so later calls start clean
      return 0;
    }
    return n;
  }();
  return count;
}

bool is_available() { return device_count() > 0; }

namespace {
void require_gpu() {
  MINIDL_CHECK(is_available(), "a CUDA operation was requested but no GPU is available "
               "(cudaGetDeviceCount found none); use the CPU device");
}
std::atomic<int64_t*>& host_slot() {  // the host address of data_error_slot()'s buffer, null until it exists
  static std::atomic<int64_t*> p{nullptr};
  return p;
}
}  // namespace

std::string device_name() {
  require_gpu();
  cudaDeviceProp prop{};
  MINIDL_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

cudaStream_t stream() {
  static cudaStream_t s = [] {
    require_gpu();
    cudaStream_t st = nullptr;
    MINIDL_CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    return st;
  }();
  return s;
}

bool sync_after_launch() {
  static const bool sync = [] {
    const char* v = env_value("MINIDL_CUDA_SYNC");
    return v && std::strcmp(v, "0") != 0;
  }();
  return sync;
}

void launch_check(const char* file, int line) {
  cudaError_t err = cudaGetLastError();
#if MINIDL_CUDA_EMULATION
  // Launches are synchronous: the report names the kernel, the block and the threads.
  if (err != cudaSuccess) {
    const char* report = emu::take_launch_report();
    detail::throw_error(file, line, str("CUDA kernel launch failed: ", cudaGetErrorName(err), ": ",
                                        *report ? report : cudaGetErrorString(err)));
  }
#else
  if (err == cudaSuccess && sync_after_launch()) err = cudaStreamSynchronize(stream());
  if (err != cudaSuccess)
    detail::throw_error(file, line, str("CUDA kernel launch failed: ", cudaGetErrorName(err), " (",
                                        cudaGetErrorString(err), ")",
                                        sync_after_launch() ? "" : "; rerun with MINIDL_CUDA_SYNC=1 to find the kernel"));
#endif
}

int64_t* data_error_slot() {
  // Mapped pinned host memory: the kernel's write reaches the host without a copy, and the
  // host reads it after any synchronization. Allocated once, never freed.
  static int64_t* device_ptr = [] {
    require_gpu();
    void* host = nullptr;
    MINIDL_CUDA_CHECK(cudaHostAlloc(&host, 4 * sizeof(int64_t), cudaHostAllocMapped));
    std::memset(host, 0, 4 * sizeof(int64_t));
    void* dev = nullptr;
    MINIDL_CUDA_CHECK(cudaHostGetDevicePointer(&dev, host, 0));
    host_slot().store(static_cast<int64_t*>(host));
    return static_cast<int64_t*>(dev);
  }();
  return device_ptr;
}

void check_data_errors() {
  volatile int64_t* slot = host_slot().load();
  if (!slot || slot[0] == 0) return;
  const int64_t code = slot[0], value = slot[1], limit = slot[2];
  slot[0] = 0;
  const char* op = code == static_cast<int64_t>(DataError::NllLossTarget) ? "nll_loss" : "cross_entropy";
  MINIDL_FAIL(op, ": target value ", value, " is out of range for ", limit, " classes (expected 0 <= target < ",
              limit, "); found on the GPU by an earlier ", op, " call and reported at this synchronization");
}


void synchronize() {
  require_gpu();
  MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream()));
  check_data_errors();
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n) {
  const cudaMemcpyKind kind = src_dev.is_cpu() ? cudaMemcpyHostToDevice
                              : dst_dev.is_cpu() ? cudaMemcpyDeviceToHost
                                                 : cudaMemcpyDeviceToDevice;
  MINIDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, kind, stream()));
  // The host side must see the data (or be free to reuse its buffer) when this returns.
  if (kind == cudaMemcpyDeviceToHost) {
    MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream()));
    check_data_errors();
  }
}

#else  // built without CUDA

int device_count() { return 0; }
bool is_available() { return false; }
std::string device_name() { MINIDL_FAIL("minidl was built without CUDA"); }
void synchronize() { MINIDL_FAIL("minidl was built without CUDA"); }
Allocator& device_allocator() { MINIDL_FAIL("minidl was built without CUDA"); }
void copy_bytes(void*, Device, const void*, Device, size_t) { MINIDL_FAIL("minidl was built without CUDA"); }
void convert(const void*, DType, void*, DType, int64_t) { MINIDL_FAIL("minidl was built without CUDA"); }
void fill(void*, DType, int64_t, double) { MINIDL_FAIL("minidl was built without CUDA"); }
void add(const void*, const void*, void*, DType, int64_t) { MINIDL_FAIL("minidl was built without CUDA"); }
int64_t* data_error_slot() { MINIDL_FAIL("minidl was built without CUDA"); }
void check_data_errors() {}

#endif

}  // namespace minidl::cuda

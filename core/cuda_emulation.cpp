// The CUDA runtime API of the interpreter (core/cuda_emulation.h), on host memory: one device,
// one stream that is always idle (launches and copies complete before they return), device
// allocations that are heap allocations with guard bytes, and a last-error slot per host thread.
#if MINIDL_CUDA_EMULATION
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "core/cuda_emulation.h"

namespace minidl::emu {
namespace {

// Without ASan, kGuard bytes of kGuardByte on each side of every allocation, checked after each
// launch; ASan has its own (better) redzones.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kGuard = 0;
#else
constexpr size_t kGuard = 64;
#endif
constexpr unsigned char kGuardByte = 0xFD, kFreshByte = 0xFF;  // 0xFF..: NaN in float / double, -1 in int64

struct Allocation {
  size_t size;
  bool host;  // cudaHostAlloc'ed (mapped: also valid in kernels)
};

struct Memory {
  std::mutex mu;
  std::map<const char*, Allocation> live;  // user pointer -> allocation
};
Memory& memory() {
  static auto* m = new Memory();  // never destroyed: tensors may be freed during static destruction
  return *m;
}

thread_local cudaError_t last_error = cudaSuccess;
thread_local std::string last_report;

// The allocation holding [p, p + n) (n = 0: p may be one past the end), or null.
const Allocation* find(const Memory& m, const void* p, size_t n, const char** base) {
  const char* c = static_cast<const char*>(p);
  auto it = m.live.upper_bound(c);
  if (it == m.live.begin()) return nullptr;
  --it;
  if (c + n > it->first + it->second.size) return nullptr;
  *base = it->first;
  return &it->second;
}

cudaError_t fail(cudaError_t e) {
  last_error = e;
  return e;
}

void* allocate(size_t size, bool host) {
  auto* raw = static_cast<unsigned char*>(std::malloc(size + 2 * kGuard));
  if (!raw) return nullptr;
  std::memset(raw, kGuardByte, kGuard);
  std::memset(raw + kGuard, host ? 0 : kFreshByte, size);
  std::memset(raw + kGuard + size, kGuardByte, kGuard);
  char* p = reinterpret_cast<char*>(raw + kGuard);
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  m.live[p] = {size, host};
  return p;
}

// The first damaged guard byte of an allocation: offset from the start (negative: before it).
bool guards_intact(const char* p, size_t size, long* offset) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  for (size_t i = 0; i < kGuard; ++i) {
    if (u[-static_cast<long>(kGuard) + static_cast<long>(i)] != kGuardByte) {
      *offset = -static_cast<long>(kGuard) + static_cast<long>(i);
      return false;
    }
    if (u[size + i] != kGuardByte) {
      *offset = static_cast<long>(size + i);
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_device_pointer(const void* p) {
  if (!p) return true;
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  const char* base;
  return find(m, p, 0, &base) != nullptr;
}

void fail_launch(cudaError_t error, const LaunchInfo& info, const char* what) {
  if (last_report.empty()) {  // the first failure is the informative one
    last_error = error;
    last_report = std::string("CUDA interpreter: kernel ") + info.kernel + " launched at " + info.file + ":" +
                  std::to_string(info.line) + " with grid (" + std::to_string(info.grid.x) + ", " +
                  std::to_string(info.grid.y) + ", " + std::to_string(info.grid.z) + ") and block (" +
                  std::to_string(info.block.x) + ", " + std::to_string(info.block.y) + ", " +
                  std::to_string(info.block.z) + "): " + what;
  }
}

const char* take_launch_report() {
  thread_local std::string taken;
  taken.swap(last_report);
  last_report.clear();
  return taken.c_str();
}

// After every launch: a kernel that wrote outside an allocation has damaged its guard bytes.
void check_guards(const LaunchInfo& info) {
  if (kGuard == 0) return;
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  for (auto& [p, a] : m.live) {
    long offset = 0;
    if (guards_intact(p, a.size, &offset)) continue;
    const std::string what = "it wrote outside a device allocation of " + std::to_string(a.size) +
                             " bytes (first damaged byte at offset " + std::to_string(offset) + ")";
    // Restore the guards so the next launch is judged on its own.
    std::memset(const_cast<char*>(p) - kGuard, kGuardByte, kGuard);
    std::memset(const_cast<char*>(p) + a.size, kGuardByte, kGuard);
    fail_launch(cudaErrorLaunchFailure, info, what.c_str());
    return;
  }
}

}  // namespace minidl::emu

using minidl::emu::fail;
using minidl::emu::memory;

cudaError_t cudaMalloc(void** ptr, size_t size) {
  *ptr = minidl::emu::allocate(size, false);
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaHostAlloc(void** ptr, size_t size, unsigned /*flags*/) {
  *ptr = minidl::emu::allocate(size, true);
  return *ptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}

cudaError_t cudaHostGetDevicePointer(void** device_ptr, void* host_ptr, unsigned /*flags*/) {
  *device_ptr = host_ptr;  // one address space
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  auto& m = memory();
  std::lock_guard<std::mutex> lock(m.mu);
  auto it = m.live.find(static_cast<char*>(ptr));
  if (it == m.live.end()) return fail(cudaErrorInvalidDevicePointer);
  std::free(static_cast<char*>(ptr) - minidl::emu::kGuard);
  m.live.erase(it);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind, cudaStream_t) {
  if (count == 0) return cudaSuccess;
  {
    // Each side must be what `kind` says: a host pointer passed as device memory faults on a GPU.
    auto& m = memory();
    std::lock_guard<std::mutex> lock(m.mu);
    const char* base;
    const bool dst_dev = minidl::emu::find(m, dst, count, &base) != nullptr;
    const bool src_dev = minidl::emu::find(m, src, count, &base) != nullptr;
    const bool want_dst = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool want_src = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((want_dst && !dst_dev) || (want_src && !src_dev)) return fail(cudaErrorInvalidValue);
  }
  std::memcpy(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t) {
  if (count == 0) return cudaSuccess;
  {
    auto& m = memory();
    std::lock_guard<std::mutex> lock(m.mu);
    const char* base;
    if (!minidl::emu::find(m, ptr, count, &base)) return fail(cudaErrorInvalidValue);
  }
  std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  static char the_stream;
  *stream = reinterpret_cast<cudaStream_t>(&the_stream);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }  // launches are synchronous

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

// An H200's shape (132 SMs): launchers that size their grids by the SM count pick the same
// splits as on the GPU tools/gpu_check.sh targets (no GPU run yet).
constexpr int kEmulatedSMs = 132;

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidValue);
  *prop = cudaDeviceProp{};
  std::strncpy(prop->name, "minidl CUDA interpreter (CPU)", sizeof prop->name - 1);
  prop->totalGlobalMem = size_t(1) << 34;
  prop->sharedMemPerBlock = 48 << 10;
  prop->maxThreadsPerBlock = 1024;
  prop->multiProcessorCount = kEmulatedSMs;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0 || attr != cudaDevAttrMultiProcessorCount) return fail(cudaErrorInvalidValue);
  *value = kEmulatedSMs;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = minidl::emu::last_error;
  minidl::emu::last_error = cudaSuccess;
  return e;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}
#endif  // MINIDL_CUDA_EMULATION

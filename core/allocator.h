// Memory for tensor storage. Every byte a tensor owns comes from the allocator of its device,
// which counts current and peak bytes (tests use the counts to prove nothing leaks).
// The CPU allocator hands out 64-byte aligned blocks (one cache line, full AVX-512 vectors) and
// caches freed large blocks so a training step does not page-fault fresh memory every iteration
// (core/allocator.cpp; MINIDL_CPU_CACHE=0 turns that off).
// The CUDA allocator (core/cuda_allocator.cpp) caches freed blocks so training does not call
// cudaMalloc / cudaFree per op, like PyTorch's caching allocator.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/device.h"

namespace minidl {

struct AllocatorStats {
  int64_t current_bytes = 0;  // bytes held by live tensors
  int64_t peak_bytes = 0;     // highest current_bytes since the last reset_peak()
  int64_t live_blocks = 0;    // blocks handed out and not yet returned
  int64_t cached_bytes = 0;   // bytes kept for reuse
  int64_t device_allocs = 0;  // calls into the system allocator (malloc / cudaMalloc)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  virtual AllocatorStats stats() const = 0;
  virtual void reset_peak() = 0;
  // Returns cached blocks to the system.
  virtual void empty_cache() {}
};

Allocator& cpu_allocator();
// Whether the CPU allocator caches freed large blocks (off with MINIDL_CPU_CACHE=0 and under ASan).
bool cpu_cache_enabled();
// The device's allocator; throws minidl::Error for CUDA when minidl was built without it.
Allocator& allocator_for(Device device);

}  // namespace minidl

// The caching CUDA allocator. cudaMalloc / cudaFree are slow (cudaFree synchronizes the whole
// device), and a training step allocates the same sizes every iteration, so freed blocks are kept
// in per-size free lists and handed out again. Sizes are rounded up so nearby requests share a
// list: to 512 bytes below 1 MiB, else to 1/8 of the next power of two (at most 12.5% waste).
//
// Reuse is safe without events because minidl runs every kernel on one stream: a block freed by
// the host is only reused by work queued after the work that last used it.
// When cudaMalloc fails, the cache is returned to the driver and the allocation retried once;
// if it still fails, the error names the request and the allocator's counts.
// MINIDL_CUDA_NO_CACHE=1 turns the cache off (exact-size cudaMalloc / cudaFree per tensor; slow):
// for compute-sanitizer memcheck, so an overrun past a tensor's end leaves its allocation
// instead of landing in the rounding slack or in a neighbouring cached block unnoticed. The CUDA
// interpreter (MINIDL_CUDA=EMULATE) runs without the cache unless MINIDL_CUDA_NO_CACHE=0, so
// AddressSanitizer sees exact tensor sizes and every use of a freed tensor.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/cuda_context.h"
#include "core/env.h"
#include "core/error.h"

#if MINIDL_WITH_CUDA
#include "core/cuda_utils.cuh"

namespace minidl::cuda {
namespace {

size_t round_size(size_t n) {
  if (n < (1u << 20)) return (n + 511) / 512 * 512;
  size_t p = 1;
  while (p < n) p <<= 1;
  const size_t step = p / 8;
  return (n + step - 1) / step * step;
}

bool caching_disabled() {
  static const bool off = [] {
    const char* v = env_value("MINIDL_CUDA_NO_CACHE");
    if (!v) return MINIDL_CUDA_EMULATION != 0;
    return std::strcmp(v, "0") != 0;
  }();
  return off;
}

class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t size = no_cache_ ? std::max<size_t>(nbytes, 1) : round_size(nbytes == 0 ? 1 : nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    // No reference into free_ is held across device_malloc: its OOM path clears the map.
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats_.cached_bytes -= static_cast<int64_t>(size);
    } else {
      p = device_malloc(size);
    }
    sizes_[p] = size;
    stats_.current_bytes += static_cast<int64_t>(size);
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.current_bytes);
    ++stats_.live_blocks;
    return p;
  }

  void deallocate(void* ptr, size_t /*nbytes*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sizes_.find(ptr);
    if (it == sizes_.end()) return;  // not ours: never happens, but never crash in a destructor
    const size_t size = it->second;
    sizes_.erase(it);
    stats_.current_bytes -= static_cast<int64_t>(size);
    --stats_.live_blocks;
    if (no_cache_) {
      // Work queued on the (non-blocking) stream may still use the block: wait for it
      // explicitly rather than rely on cudaFree's implicit device synchronization. Never throw
      // from here: a failure (e.g. at exit, after the runtime unloaded) is dropped, and cleared
      // so no later launch check reports it.
      const cudaError_t synced = cudaStreamSynchronize(stream());
      const cudaError_t freed = cudaFree(ptr);
      if (synced != cudaSuccess || freed != cudaSuccess) cudaGetLastError();
      return;
    }
    free_[size].push_back(ptr);
    stats_.cached_bytes += static_cast<int64_t>(size);
  }

  AllocatorStats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_bytes = stats_.current_bytes;
  }
  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    release_cache();
  }

 private:
  void* device_malloc(size_t size) {
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {  // out of memory: give the cache back and try once more
      cudaGetLastError();
      release_cache();
      err = cudaMalloc(&p, size);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw OutOfMemoryError(str("CUDA out of memory allocating ", size, " bytes (", cudaGetErrorString(err),
                                 "); minidl holds ", stats_.current_bytes, " bytes in ", stats_.live_blocks,
                                 " live tensors, peak ", stats_.peak_bytes,
                                 " bytes; try a smaller --batch-size (core/cuda_allocator.cpp:", __LINE__, ")"));
    }
    // Anything else (a sticky fault from an earlier kernel, a lost device) is not an OOM: report it as is.
    MINIDL_CUDA_CHECK(err);
    ++stats_.device_allocs;
    return p;
  }
  void release_cache() {
    MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream()));
    for (auto& [size, list] : free_)
      for (void* p : list) cudaFree(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  const bool no_cache_ = caching_disabled();
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;  // rounded size -> cached blocks
  std::unordered_map<void*, size_t> sizes_;    // live block -> rounded size
  AllocatorStats stats_;
};

}  // namespace

Allocator& device_allocator() {
  MINIDL_CHECK(is_available(), "a CUDA tensor was requested but no GPU is available; use the CPU device");
  // Never destroyed: tensors freed during static destruction must still find their allocator.
  static auto* alloc = new CachingAllocator();
  return *alloc;
}

}  // namespace minidl::cuda

#endif  // MINIDL_WITH_CUDA

// The CPU allocator, with a cache for large blocks.
//
// Why a cache: a training step frees and re-allocates the same activation-sized blocks (megabytes)
// every iteration. glibc serves blocks that large with fresh mmap pages, and the kernel zeroes
// each page on first touch: on minidl50k that page clearing was ~9% of a training step (perf:
// clear_page_erms + page faults under relu/group_norm's output writes). Keeping freed large
// blocks in per-size free lists, as PyTorch's CUDA allocator does on the GPU, removes it.
//
// - Blocks of kCacheMin bytes and more are cached; sizes are rounded up so nearby requests share
//   a list (to 4 KiB below 1 MiB, else to 1/8 of the next power of two: at most 12.5% slack).
//   Small blocks go straight to malloc, whose heap already reuses them without page faults.
// - Live and cached blocks together never exceed twice the largest working set seen so far (the
//   high-water mark of the bytes live tensors hold). A periodic workload (training steps) needs
//   its per-size peaks cached, which can exceed the high-water mark itself (the sizes peak at
//   different moments of the step: one allowed only 1x kept missing on minidl50k's 12 MB
//   activations), while the 2x bound keeps changing shapes (a training step, then an evaluation
//   at another batch size) from growing the memory without limit. Past the bound the blocks freed
//   longest ago are given back first, so the cache follows the shapes in use; the bound is checked
//   when a block is freed and when one is newly taken from the system.
// - Blocks of 2 MiB and more are 2 MiB-aligned and marked MADV_HUGEPAGE (see huge_alloc).
// - When the system allocator fails, the cache is released and the allocation retried once.
// - MINIDL_CPU_CACHE=0 turns the cache off (exact-size aligned_alloc / free per tensor). It is
//   off in AddressSanitizer builds, so ASan sees exact tensor sizes and every use of a freed one.
#include "core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#if __has_include(<sys/mman.h>)
#include <sys/mman.h>  // madvise
#endif

#include "core/cuda_context.h"
#include "core/env.h"
#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define MINIDL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MINIDL_ASAN 1
#endif
#endif
#ifndef MINIDL_ASAN
#define MINIDL_ASAN 0
#endif

namespace minidl {
namespace {

constexpr size_t kCacheMin = size_t(1) << 16;  // 64 KiB

size_t rounded_size(size_t n) {
  if (n < kCacheMin) return (std::max<size_t>(n, 1) + 63) / 64 * 64;  // aligned_alloc wants a multiple of 64
  if (n < (size_t(1) << 20)) return (n + 4095) / 4096 * 4096;
  size_t p = 1;
  while (p < n) p <<= 1;
  const size_t step = p / 8;
  return (n + step - 1) / step * step;
}

bool cache_enabled() {
  const char* v = env_value("MINIDL_CPU_CACHE");
  if (!v) return !MINIDL_ASAN;
  return std::strcmp(v, "0") != 0;
}

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t size = rounded_size(nbytes);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cache_ && size >= kCacheMin) {
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
          p = it->second.back().ptr;  // the most recently freed: likely still in cache
          it->second.pop_back();
          cached_ -= static_cast<int64_t>(size);
        }
      }
    }
    if (!p) {
      if (cache_ && size >= kCacheMin) {  // make room first: the new block counts against the bound
        std::lock_guard<std::mutex> lock(mu_);
        trim(static_cast<int64_t>(size));
      }
      p = system_alloc(size, nbytes);
    }
    count_live(static_cast<int64_t>(nbytes), static_cast<int64_t>(size));
    return p;
  }

  void deallocate(void* ptr, size_t nbytes) override {
    const size_t size = rounded_size(nbytes);  // the caller passes the size it asked for
    current_ -= static_cast<int64_t>(nbytes);
    held_ -= static_cast<int64_t>(size);
    --live_;
    if (cache_ && size >= kCacheMin) {
      std::lock_guard<std::mutex> lock(mu_);
      free_[size].push_back({tick_++, ptr});
      cached_ += static_cast<int64_t>(size);
      // Over the bound: give back the blocks freed longest ago, not the one just freed. Refusing
      // new blocks instead kept the sizes of a past phase (a test pass at another batch size, the
      // previous shape of a benchmark) cached forever while every block of the current phase went
      // back to the system and was page-faulted in again on the next step.
      trim();
      return;
    }
    std::free(ptr);
  }

  AllocatorStats stats() const override {
    AllocatorStats s;
    s.current_bytes = current_;
    s.peak_bytes = peak_;
    s.live_blocks = live_;
    s.device_allocs = allocs_;
    std::lock_guard<std::mutex> lock(mu_);
    s.cached_bytes = cached_;
    return s;
  }
  void reset_peak() override { peak_ = current_.load(); }
  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    release_cache();
  }

 private:
  void* system_alloc(size_t size, size_t nbytes) {
    void* p = huge_alloc(size);
    if (!p) {  // give the cache back and try once more
      {
        std::lock_guard<std::mutex> lock(mu_);
        release_cache();
      }
      p = huge_alloc(size);
    }
    if (!p)
      MINIDL_FAIL("out of CPU memory allocating ", nbytes, " bytes; minidl holds ", current_.load(), " bytes in ",
                  live_.load(), " live tensors, peak ", peak_.load(), " bytes; try a smaller --batch-size");
    ++allocs_;
    return p;
  }
  // Blocks of 2 MiB and more are 2 MiB-aligned and marked for transparent huge pages (on kernels
  // that only give them on request, THP "madvise"): a 12 MB activation then spans 6 TLB entries
  // instead of 3,000, which memory-bound passes (ReLU, add, the norms) feel.
  static void* huge_alloc(size_t size) {
    constexpr size_t kHuge = size_t(2) << 20;
    if (size < kHuge) return std::aligned_alloc(64, size);
    void* p = std::aligned_alloc(kHuge, (size + kHuge - 1) / kHuge * kHuge);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, (size + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);  // a hint: failure changes nothing
#endif
    return p;
  }
  static void raise(std::atomic<int64_t>& mark, int64_t now) {
    int64_t seen = mark.load();
    while (now > seen && !mark.compare_exchange_weak(seen, now)) {
    }
  }
  void count_live(int64_t nbytes, int64_t size) {
    raise(peak_, current_ += nbytes);
    raise(high_water_, held_ += size);
    ++live_;
  }
  void release_cache() {  // with mu_ held
    for (auto& [size, list] : free_)
      for (const Cached& c : list) std::free(c.ptr);
    free_.clear();
    cached_ = 0;
  }
  // With mu_ held: evicts until the live blocks (plus `extra` bytes about to be taken) and the
  // cached ones fit the bound, twice the high-water mark (which the new block may raise).
  void trim(int64_t extra = 0) {
    const int64_t live = held_.load() + extra, limit = 2 * std::max(high_water_.load(), live);
    while (live + cached_ > limit && cached_ > 0) evict_oldest();
  }
  void evict_oldest() {  // with mu_ held, cached_ > 0: frees the cached block freed longest ago
    auto oldest = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (!it->second.empty() && (oldest == free_.end() || it->second.front().tick < oldest->second.front().tick))
        oldest = it;
    std::free(oldest->second.front().ptr);
    oldest->second.erase(oldest->second.begin());
    cached_ -= static_cast<int64_t>(oldest->first);
  }

  const bool cache_ = cpu_cache_enabled();
  // current_ / peak_ count the bytes tensors asked for; held_ the rounded sizes they hold, and
  // high_water_ (the cache's limit) its maximum, which reset_peak() leaves alone.
  std::atomic<int64_t> current_{0}, peak_{0}, held_{0}, high_water_{0}, live_{0}, allocs_{0};
  mutable std::mutex mu_;
  struct Cached {
    uint64_t tick;  // when it was freed (tick_ then): the oldest go first when the cache is over its bound
    void* ptr;
  };
  std::map<size_t, std::vector<Cached>> free_;  // rounded size -> cached blocks, oldest first
  int64_t cached_ = 0;                           // bytes in free_
  uint64_t tick_ = 0;
};

}  // namespace

Allocator& cpu_allocator() {
  // Never destroyed: tensors freed during static destruction must still find their allocator.
  static auto* alloc = new CpuAllocator();
  return *alloc;
}

bool cpu_cache_enabled() {
  static const bool on = cache_enabled();
  return on;
}

Allocator& allocator_for(Device device) {
  return device.is_cpu() ? cpu_allocator() : cuda::device_allocator();
}

}  // namespace minidl

#include "core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "core/cuda_context.h"
#include "core/error.h"

namespace minidl {
namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    MINIDL_CHECK(p != nullptr, "out of CPU memory allocating ", nbytes, " bytes");
    const int64_t now = current_ += static_cast<int64_t>(nbytes);
    int64_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    ++live_;
    ++allocs_;
    return p;
  }
  void deallocate(void* ptr, size_t nbytes) override {
    std::free(ptr);
    current_ -= static_cast<int64_t>(nbytes);
    --live_;
  }
  AllocatorStats stats() const override {
    AllocatorStats s;
    s.current_bytes = current_;
    s.peak_bytes = peak_;
    s.live_blocks = live_;
    s.device_allocs = allocs_;
    return s;
  }
  void reset_peak() override { peak_ = current_.load(); }

 private:
  std::atomic<int64_t> current_{0}, peak_{0}, live_{0}, allocs_{0};
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator alloc;
  return alloc;
}

Allocator& allocator_for(Device device) {
  return device.is_cpu() ? cpu_allocator() : cuda::device_allocator();
}

}  // namespace minidl

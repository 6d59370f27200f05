// The CPU allocator (core/allocator.h): 64-byte aligned blocks, live/peak counts that prove
// nothing leaks, and a cache that hands a freed large block out again instead of asking the
// system for fresh (page-faulting) memory. The cache is off under AddressSanitizer and with
// MINIDL_CPU_CACHE=0; the cases that need it say so and pass trivially there.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "core/allocator.h"
#include "core/tensor.h"

using namespace minidl;

TEST_CASE("the CPU allocator aligns blocks and counts live bytes", "[allocator]") {
  Allocator& a = cpu_allocator();
  const AllocatorStats before = a.stats();
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t n : {size_t(0), size_t(1), size_t(100), size_t(70000), size_t(3000000)}) {
    void* p = a.allocate(n);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    blocks.push_back({p, n});
  }
  CHECK(a.stats().current_bytes == before.current_bytes + 3070101);
  CHECK(a.stats().live_blocks == before.live_blocks + 5);
  CHECK(a.stats().peak_bytes >= a.stats().current_bytes);
  for (auto [p, n] : blocks) a.deallocate(p, n);
  CHECK(a.stats().current_bytes == before.current_bytes);
  CHECK(a.stats().live_blocks == before.live_blocks);
}

TEST_CASE("the CPU allocator reuses freed large blocks and returns them on empty_cache", "[allocator]") {
  if (!cpu_cache_enabled()) {
    SUCCEED("the CPU cache is off in this build (AddressSanitizer) or by MINIDL_CPU_CACHE=0");
    return;
  }
  Allocator& a = cpu_allocator();
  // A working set of 16 MB first: the cache may then hold up to that much (its limit is the
  // high-water mark of live blocks), whatever ran before in this process.
  a.deallocate(a.allocate(16000000), 16000000);
  a.empty_cache();
  void* big = a.allocate(3000000);
  const AllocatorStats held = a.stats();
  a.deallocate(big, 3000000);
  CHECK(a.stats().cached_bytes == 3145728);  // rounded up to a multiple of 1/8 of the next power of two
  // A nearby size is served from the same list: same block, no call into the system allocator.
  void* again = a.allocate(3100000);
  CHECK(again == big);
  CHECK(a.stats().device_allocs == held.device_allocs);
  CHECK(a.stats().cached_bytes == 0);
  a.deallocate(again, 3100000);
  // Below 1 MiB the rounding is to 4 KiB pages.
  void* mid = a.allocate(70000);
  a.deallocate(mid, 70000);
  CHECK(a.stats().cached_bytes == 3145728 + 73728);

  // Small blocks are left to malloc.
  void* small = a.allocate(1000);
  a.deallocate(small, 1000);
  CHECK(a.stats().cached_bytes == 3145728 + 73728);

  // Never more cached than the largest working set seen.
  std::vector<void*> many;
  for (int i = 0; i < 8; ++i) many.push_back(a.allocate(5000000));
  for (void* p : many) a.deallocate(p, 5000000);
  // The high-water mark is the 8 blocks of 5 MiB (5,000,000 rounded) and what else was live.
  CHECK(a.stats().cached_bytes > 3145728 + 73728);
  CHECK(a.stats().cached_bytes <= 8 * 5242880 + held.current_bytes + 1000000);

  a.empty_cache();
  CHECK(a.stats().cached_bytes == 0);
  const int64_t allocs = a.stats().device_allocs;
  void* fresh = a.allocate(3000000);
  CHECK(a.stats().device_allocs == allocs + 1);
  a.deallocate(fresh, 3000000);
}

TEST_CASE("the CPU allocator's cache follows a change of shapes", "[allocator]") {
  // Two phases of 1 GB in sizes of their own (blocks never touched: no memory is used) fill the
  // cache to its bound, twice the largest working set. A third phase in a third size then holds
  // as much again: freeing its blocks must give back the old phases' (freed longest ago), not
  // its own, so that its next step runs from the cache. (Refusing the new blocks instead sent
  // every step of a new shape to the system allocator, page faults included.)
  if (!cpu_cache_enabled()) {
    SUCCEED("the CPU cache is off in this build (AddressSanitizer) or by MINIDL_CPU_CACHE=0");
    return;
  }
  Allocator& a = cpu_allocator();
  a.empty_cache();
  constexpr size_t kA = size_t(16) << 20, kA2 = size_t(8) << 20, kB = size_t(12) << 20;  // lists of their own
  auto phase = [&](size_t size, int count) {
    std::vector<void*> blocks;
    for (int i = 0; i < count; ++i) blocks.push_back(a.allocate(size));
    for (void* p : blocks) a.deallocate(p, size);
  };
  phase(kA, 64);   // 1 GB live, then cached
  phase(kA2, 128);  // 1 GB more: misses, then cached (2 GB: the bound)
  // ~1 GB of B live: each miss gives back old blocks at once, not at the next free, so live and
  // cached stay within the bound (2 x 1.07 GB) while B's blocks are held.
  std::vector<void*> live;
  for (int i = 0; i < 85; ++i) live.push_back(a.allocate(kB));
  CHECK(a.stats().cached_bytes <= int64_t(85 * kB) + (int64_t(64) << 20));
  for (void* p : live) a.deallocate(p, kB);  // cached in place of A's blocks
  const int64_t allocs = a.stats().device_allocs;
  phase(kB, 85);
  CHECK(a.stats().device_allocs == allocs);  // every block of B's second step came from the cache
  a.empty_cache();
}

TEST_CASE("a tensor made from a reused block starts as its factory says", "[allocator]") {
  const Shape shape{64, 32, 16, 16};  // 2 MiB: a cached size
  for (int round = 0; round < 2; ++round) {
    {
      Tensor dirty = full(shape, 7.0);
    }
    Tensor z = zeros(shape);
    const float* d = z.data<float>();
    bool all_zero = true;
    for (int64_t i = 0; i < z.numel(); ++i) all_zero = all_zero && d[i] == 0.0f;
    CHECK(all_zero);
  }
}

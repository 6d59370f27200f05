// CPU threading. The CPU kernels parallelize with OpenMP (`#pragma omp parallel for`) over
// independent work: images, channels, rows. Eigen's GEMM uses the same thread count.
// Set it once, e.g. from train_cifar --threads; the default is OpenMP's (all cores).
#pragma once

#include <cstdint>

namespace minidl {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

// Whether a loop is worth splitting across the threads. Starting a parallel region costs a
// roughly fixed time: ~1 us while idle OpenMP threads spin (OpenMP's default), 8-45 us on a
// 2-core VM when they sleep (OMP_WAIT_POLICY=passive, as benchmarks on a shared machine set it),
// because every region must wake a core (how long depends on the host). So the cost is measured
// (the median of 15 empty regions; again when the thread count changes), and a loop whose
// one-thread time is `serial_us` runs on the threads when the time they save,
// serial_us * (1 - 1/threads), exceeds one region cost. (A woken thread costs a little more than
// an empty region: near that line either choice is about as fast; bench_ops relu, add and
// avg_pool2d around 1 M elements, --threads 1 and 2.)
// Only for loops whose results do not depend on the split (elementwise maps, pooling, dropout,
// per-channel or per-row norms): loops that sum per-thread partials keep fixed thresholds, so a
// run's numbers never depend on a timing.
bool parallel_pays(double serial_us);
double parallel_region_cost_us();
// Fixes the region cost (tests, experiments); a negative value undoes that: the cost is then the
// environment variable MINIDL_PARALLEL_COST_US's (microseconds, read once) or, without it, measured.
void set_parallel_region_cost_us(double us);

// One-thread time of a loop that streams `bytes` (reads plus writes) through the caches at
// ~100 GB/s (AVX-512 loads and stores, data in L2/L3; bench_ops relu/add with --threads 1).
inline double stream_us(int64_t bytes) { return static_cast<double>(bytes) * 1e-5; }

// parallel_pays for a loop that streams `streams` arrays of n values of type T (reads + writes).
template <class T>
bool streaming_pays(int64_t n, int streams) {
  return parallel_pays(stream_us(n * streams * static_cast<int64_t>(sizeof(T))));
}

// Loops whose result depends on the split (sums of per-thread partials) split by size alone, at
// one fixed amount of work, never by a measured time: a run's numbers must not depend on a timing.
constexpr int64_t kFixedSplitWork = int64_t(1) << 16;
inline bool fixed_split_pays(int64_t work) { return work > kFixedSplitWork; }

}  // namespace minidl

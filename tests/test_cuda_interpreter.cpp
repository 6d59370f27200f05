// Self-tests of the CUDA interpreter (MINIDL_CUDA=EMULATE, core/cuda_emulation.h): small kernels
// with the bugs it must catch (a missing barrier, a barrier in a divergent branch, shuffles whose
// lanes do not match their mask, out-of-bounds writes, bad launch configurations, host pointers),
// and correct kernels whose results pin down its semantics (shuffle widths, per-block shared
// memory, thread order). Only in the interpreter build: nvcc cannot compile kernels in a .cpp.
#include <catch2/catch.hpp>

#if MINIDL_CUDA_EMULATION
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/cuda_utils.cuh"
#include "core/tensor.h"
#include "test_util.h"

using namespace minidl;

namespace {

// ---- kernels -------------------------------------------------------------------------------------

// out[t] = in[t - 1] of the block's values, through shared memory. `with_barrier` = false is
// the classic race: thread t may read s[t - 1] before thread t - 1 wrote it.
__global__ void shift_kernel(const float* in, float* out, bool with_barrier) {
  __shared__ float s[256];
  const unsigned t = threadIdx.x;
  s[t] = in[blockIdx.x * blockDim.x + t];
  if (with_barrier) __syncthreads();
  out[blockIdx.x * blockDim.x + t] = t == 0 ? 0.0f : s[t - 1];
}

// A barrier only the first `reach` threads get to.
__global__ void divergent_barrier_kernel(float* out, unsigned reach) {
  if (threadIdx.x < reach) __syncthreads();
  out[threadIdx.x] = 1.0f;
}

// Threads past n return before the barrier (the classic early exit).
__global__ void early_exit_kernel(float* out, unsigned n) {
  if (threadIdx.x >= n) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

// Two different barriers, one per half of the block.
__global__ void two_barriers_kernel(float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

// __shfl_down_sync(mask, v, delta, width) called by the first `callers` lanes of each warp.
__global__ void shuffle_kernel(float* out, unsigned mask, unsigned callers, unsigned delta, int width) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x % 32 < callers) v = __shfl_down_sync(mask, v, delta, width);
  out[threadIdx.x] = v;
}

__global__ void shuffle_xor_kernel(double* out, int lane_mask, int width) {
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, static_cast<double>(threadIdx.x), lane_mask, width);
}

// Every thread writes out[i + shift]: shift = 1 writes one element past the end.
__global__ void write_kernel(float* out, int64_t n, int64_t shift) {
  MINIDL_GRID_STRIDE_LOOP(i, n) out[i + shift] = 1.0f;
}

#if defined(__SANITIZE_ADDRESS__)
// Launched with more than 64 threads, the last ones write past the end of the shared array
// (through a pointer, as kernels index shared tiles: UBSan's bounds check only sees arrays).
__global__ void shared_overflow_kernel(float* out) {
  __shared__ float s[64];
  float* tile = s;
  tile[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x % 64];
}
#endif

// out[b] = the block sum of (b + 1) * t over its threads (block_reduce_sum of cuda_utils.cuh).
__global__ void block_sum_kernel(double* out) {
  const double v = static_cast<double>(blockIdx.x + 1) * threadIdx.x;
  const double total = ::minidl::cuda::block_reduce_sum(v);
  if (threadIdx.x == 0) out[blockIdx.x] = total;
}

// Thread 0 of each block stores its block index in shared memory; every thread reads it back.
__global__ void shared_per_block_kernel(int64_t* out) {
  __shared__ int64_t tag;
  if (threadIdx.x == 0) tag = blockIdx.x;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = tag;
}

// The order in which threads run: each takes the next ticket (no barrier, so no interleaving).
__global__ void ticket_kernel(int64_t* out, int64_t* counter) { out[threadIdx.x] = (*counter)++; }

// Not CUDA (device code cannot throw), but a host function called by a kernel in the
// interpreter could: the exception must end the launch with a report, not unwind past a fiber.
__global__ void throwing_kernel(float* out) {
  if (threadIdx.x == 3) throw std::runtime_error("boom");
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void index_kernel(int64_t* out) {
  const int64_t b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int64_t t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  out[b * blockDim.x * blockDim.y * blockDim.z + t] = b * 1000 + t;
}

// ---- helpers -------------------------------------------------------------------------------------

Tensor cuda_floats(int64_t n) { return zeros({n}, Device::cuda()); }

std::vector<double> run_shift(bool with_barrier, emu::ThreadOrder order, int blocks = 2) {
  std::vector<double> in(static_cast<size_t>(256 * blocks));
  for (size_t i = 0; i < in.size(); ++i) in[i] = 1000.0 + static_cast<double>(i);
  const Tensor x = tensor(in, {256 * blocks}).to(Device::cuda());
  Tensor y = cuda_floats(256 * blocks);
  emu::set_thread_order(order, 7);
  MINIDL_LAUNCH(blocks, 256, shift_kernel)(x.data<float>(), y.data<float>(), with_barrier);
  emu::set_thread_order(emu::ThreadOrder::Forward);
  return testing::values(y);
}

std::vector<double> expected_shift(int blocks = 2) {
  std::vector<double> e(static_cast<size_t>(256 * blocks));
  for (size_t i = 0; i < e.size(); ++i) e[i] = i % 256 == 0 ? 0.0 : 1000.0 + static_cast<double>(i) - 1;
  return e;
}

// Restores the default thread order when a case ends, also through an exception.
struct ForwardOrderAtExit {
  ~ForwardOrderAtExit() { emu::set_thread_order(emu::ThreadOrder::Forward); }
};

}  // namespace

TEST_CASE("interpreter: a missing barrier is exposed by the thread order", "[cuda][interpreter]") {
  const ForwardOrderAtExit restore{};
  // With the barrier every order gives the right answer.
  for (auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse, emu::ThreadOrder::Shuffle})
    CHECK(run_shift(true, order) == expected_shift());
  // Without it, forward order happens to work (thread t - 1 always ran first) ...
  CHECK(run_shift(false, emu::ThreadOrder::Forward) == expected_shift());
  // ... and reverse or shuffled order reads s[t - 1] before it is written.
  CHECK(run_shift(false, emu::ThreadOrder::Reverse) != expected_shift());
  CHECK(run_shift(false, emu::ThreadOrder::Shuffle) != expected_shift());
}

TEST_CASE("interpreter: a barrier in a divergent branch is reported", "[cuda][interpreter]") {
  Tensor out = cuda_floats(64);
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 32, divergent_barrier_kernel)(out.data<float>(), 16u); }(),
                    Catch::Contains("divergent_barrier_kernel") && Catch::Contains("block (0, 0, 0)") &&
                        Catch::Contains("__syncthreads() is not reached by every thread") &&
                        Catch::Contains("threads 0-15 wait at __syncthreads() at") &&
                        Catch::Contains("test_cuda_interpreter.cpp") && Catch::Contains("threads 16-31 exited"));
  // Threads that return before the barrier.
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(2, 64, early_exit_kernel)(out.data<float>(), 50u); }(),
                    Catch::Contains("early_exit_kernel") && Catch::Contains("threads 0-49 wait") &&
                        Catch::Contains("threads 50-63 exited"));
  // Two different __syncthreads() calls.
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 32, two_barriers_kernel)(out.data<float>()); }(),
                    Catch::Contains("threads 0-15 wait at __syncthreads() at") &&
                        Catch::Contains("threads 16-31 wait at __syncthreads() at"));
  // Reached by everyone: fine, and the interpreter is usable again after a report.
  MINIDL_LAUNCH(2, 64, divergent_barrier_kernel)(out.data<float>(), 64u);
  CHECK(testing::values(out) == std::vector<double>(64, 1.0));
}

TEST_CASE("interpreter: shuffles whose lanes differ from the mask are reported", "[cuda][interpreter]") {
  Tensor out = cuda_floats(64);
  float* p = out.data<float>();
  // Full mask, but only lanes 0-15 call it.
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 64, shuffle_kernel)(p, 0xffffffffu, 16u, 1u, 32); }(),
                    Catch::Contains("shuffle_kernel") && Catch::Contains("warp 0") &&
                        Catch::Contains("__shfl_down_sync at") && Catch::Contains("mask 0xffffffff") &&
                        Catch::Contains("differ from its mask: threads 0-15 wait there; threads 16-31 exited"));
  // Every lane calls it, but the mask names only the low half.
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 32, shuffle_kernel)(p, 0x0000ffffu, 32u, 1u, 32); }(),
                    Catch::Contains("thread 16 is not in its own mask"));
  // A correct half-warp mask, but lane 15 reads lane 16 (outside the mask: undefined).
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 32, shuffle_kernel)(p, 0x0000ffffu, 16u, 1u, 32); }(),
                    Catch::Contains("thread 15 reads lane 16, which is not in the mask"));
  // A full mask in a block of 16 threads (the warp has no lanes 16-31).
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 16, shuffle_kernel)(p, 0xffffffffu, 32u, 1u, 32); }(),
                    Catch::Contains("this warp has only 16 threads"));
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 32, shuffle_kernel)(p, 0xffffffffu, 32u, 1u, 12); }(),
                    Catch::Contains("width 12, which is not a power of two"));
  // The same half-warp mask with width 16: lane 15 keeps its own value. Valid.
  out = cuda_floats(64);
  MINIDL_LAUNCH(1, 32, shuffle_kernel)(out.data<float>(), 0x0000ffffu, 16u, 1u, 16);
  std::vector<double> want(64, 0.0);
  for (int t = 0; t < 32; ++t) want[t] = t < 15 ? t + 1 : t;
  CHECK(testing::values(out) == want);
}

TEST_CASE("interpreter: shuffle semantics with width", "[cuda][interpreter]") {
  Tensor out = cuda_floats(64);
  // down by 3 within groups of 8: lanes 5, 6, 7 of each group keep their own value.
  MINIDL_LAUNCH(1, 64, shuffle_kernel)(out.data<float>(), 0xffffffffu, 32u, 3u, 8);
  std::vector<double> want(64);
  for (int t = 0; t < 64; ++t) want[t] = t % 8 + 3 < 8 ? t + 3 : t;
  CHECK(testing::values(out) == want);
  // xor 5 within groups of 4: a lane may read an earlier group (lane 7 reads lane 2), never a
  // later one (lane 2 would read 7: it keeps its own value).
  Tensor d = zeros({32}, TensorOptions().dtype(DType::Float64).device(Device::cuda()));
  MINIDL_LAUNCH(1, 32, shuffle_xor_kernel)(d.data<double>(), 5, 4);
  for (int t = 0; t < 32; ++t) want[t] = (t ^ 5) < (t / 4 + 1) * 4 ? t ^ 5 : t;
  want.resize(32);
  CHECK(testing::values(d) == want);
}

#if defined(__SANITIZE_ADDRESS__)
namespace {
// AddressSanitizer ends the process at the first bad access: run `launch` in a child process and
// return what ASan printed (empty when the child exited normally: nothing was caught).
template <class Launch>
std::string asan_report_of(const Launch& launch) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    launch();
    _exit(0);
  }
  close(fds[1]);
  std::string report;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? std::string() : report;
}
}  // namespace
#endif

TEST_CASE("interpreter: out-of-bounds accesses are caught", "[cuda][interpreter]") {
  Tensor out = cuda_floats(1000);
#if defined(__SANITIZE_ADDRESS__)
  // Device memory is heap memory: ASan reports past-the-end writes (and reads) in a kernel ...
  const std::string heap = asan_report_of([&] {
    MINIDL_LAUNCH(4, 256, write_kernel)(out.data<float>(), int64_t(1000), int64_t(1));
  });
  INFO(heap);
  CHECK(heap.find("heap-buffer-overflow") != std::string::npos);
  CHECK(heap.find("WRITE of size 4") != std::string::npos);
  // ... and shared memory is an ordinary static array: overflows of it too (ASan's redzone, or
  // UBSan's object-size check, which sees the array first).
  const std::string shared = asan_report_of([&] { MINIDL_LAUNCH(1, 96, shared_overflow_kernel)(out.data<float>()); });
  INFO(shared);
  CHECK((shared.find("global-buffer-overflow") != std::string::npos ||
         shared.find("insufficient space for an object of type 'float'") != std::string::npos));
#else
  // The guard bytes around every allocation are checked after each launch.
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(4, 256, write_kernel)(out.data<float>(), int64_t(1000), int64_t(1)); }(),
                    Catch::Contains("write_kernel") &&
                        Catch::Contains("wrote outside a device allocation of 4000 bytes") &&
                        Catch::Contains("offset 4000"));
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(4, 256, write_kernel)(out.data<float>() + 1, int64_t(999), int64_t(-2)); }(),
                    Catch::Contains("offset -4"));
#endif
  MINIDL_LAUNCH(4, 256, write_kernel)(out.data<float>(), int64_t(1000), int64_t(0));  // in bounds: fine
  CHECK(testing::values(out) == std::vector<double>(1000, 1.0));
}

TEST_CASE("interpreter: launch configurations beyond the hardware limits are reported", "[cuda][interpreter]") {
  Tensor out = zeros({2048}, TensorOptions().dtype(DType::Int64).device(Device::cuda()));
  int64_t* p = out.data<int64_t>();
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 1025, index_kernel)(p); }(),
                    Catch::Contains("cudaErrorInvalidConfiguration") && Catch::Contains("index_kernel") &&
                        Catch::Contains("1025 threads; the limit is 1024"));
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, dim3(2, 2, 65), index_kernel)(p); }(), Catch::Contains("block (2, 2, 65)"));
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(dim3(1, 65536), 1, index_kernel)(p); }(),
                    Catch::Contains("grid (1, 65536, 1) exceeds the limits"));
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(0, 32, index_kernel)(p); }(), Catch::Contains("empty grid"));
  // A 3-D grid of 3-D blocks: every index reaches the kernel.
  MINIDL_LAUNCH(dim3(2, 3, 2), dim3(4, 2, 3), index_kernel)(p);
  const auto v = out.to_vector<int64_t>();
  for (int64_t b = 0; b < 12; ++b)
    for (int64_t t = 0; t < 24; ++t) CHECK(v[static_cast<size_t>(b * 24 + t)] == b * 1000 + t);
}

TEST_CASE("interpreter: an exception inside a kernel ends the launch with a report", "[cuda][interpreter]") {
  Tensor out = cuda_floats(32);
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(2, 32, throwing_kernel)(out.data<float>()); }(),
                    Catch::Contains("throwing_kernel") && Catch::Contains("block (0, 0, 0): thread 3 threw: boom"));
  CHECK_THROWS_WITH(__syncthreads(), Catch::Contains("called outside a kernel"));
  MINIDL_LAUNCH(1, 32, divergent_barrier_kernel)(out.data<float>(), 32u);  // still usable
  CHECK(testing::values(out) == std::vector<double>(32, 1.0));
}

TEST_CASE("interpreter: a host pointer passed to a kernel is reported", "[cuda][interpreter]") {
  std::vector<float> host(64);
  CHECK_THROWS_WITH([&] { MINIDL_LAUNCH(1, 32, divergent_barrier_kernel)(host.data(), 32u); }(),
                    Catch::Contains("argument 1 is a pointer outside every device allocation"));
  const Tensor cpu = zeros({64});
  CHECK_THROWS_WITH(cuda::copy_bytes(cpu.raw_data(), Device::cuda(), cpu.raw_data(), Device::cpu(), 4),
                    Catch::Contains("cudaErrorInvalidValue"));
}

TEST_CASE("interpreter: block reductions, per-block shared memory and the thread order", "[cuda][interpreter]") {
  const ForwardOrderAtExit restore{};
  for (int threads : {32, 96, 256, 1024}) {
    INFO(threads << " threads");
    Tensor sums = zeros({5}, TensorOptions().dtype(DType::Float64).device(Device::cuda()));
    MINIDL_LAUNCH(5, threads, block_sum_kernel)(sums.data<double>());
    std::vector<double> want;
    for (int b = 0; b < 5; ++b) want.push_back((b + 1) * threads * (threads - 1) / 2.0);
    CHECK(testing::values(sums) == want);
  }
  Tensor tags = zeros({3 * 64}, TensorOptions().dtype(DType::Int64).device(Device::cuda()));
  for (auto order : {emu::ThreadOrder::Forward, emu::ThreadOrder::Reverse, emu::ThreadOrder::Shuffle}) {
    emu::set_thread_order(order, 3);
    MINIDL_LAUNCH(3, 64, shared_per_block_kernel)(tags.data<int64_t>());
    const auto v = tags.to_vector<int64_t>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == static_cast<int64_t>(i / 64));
  }
  Tensor order = zeros({8}, TensorOptions().dtype(DType::Int64).device(Device::cuda()));
  Tensor counter = zeros({1}, TensorOptions().dtype(DType::Int64).device(Device::cuda()));
  emu::set_thread_order(emu::ThreadOrder::Reverse);
  MINIDL_LAUNCH(1, 8, ticket_kernel)(order.data<int64_t>(), counter.data<int64_t>());
  CHECK(order.to_vector<int64_t>() == std::vector<int64_t>{7, 6, 5, 4, 3, 2, 1, 0});
}

TEST_CASE("interpreter: fresh device memory reads as NaN", "[cuda][interpreter]") {
  // cudaMalloc'ed memory is filled with 0xFF bytes, so a kernel that reads what nobody wrote
  // produces NaN (float) or -1 (int64) instead of a plausible 0.
  for (double v : testing::values(empty({7}, Device::cuda()))) CHECK(std::isnan(v));
  CHECK(empty({3}, TensorOptions().dtype(DType::Int64).device(Device::cuda())).to_vector<int64_t>() ==
        std::vector<int64_t>{-1, -1, -1});
}
#endif  // MINIDL_CUDA_EMULATION

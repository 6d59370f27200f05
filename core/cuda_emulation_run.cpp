// The CUDA interpreter's scheduler: runs a kernel's blocks in turn, each block's threads as
// fibers, and reports what a GPU would do wrong or leave undefined (see core/cuda_emulation.h).
#if MINIDL_CUDA_EMULATION
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/cuda_emulation.h"
#include "core/cuda_emulation_fiber.h"
#include "core/env.h"
#include "core/error.h"

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread dim3 blockDim;
__thread dim3 gridDim;

namespace minidl::emu {

void check_guards(const LaunchInfo& info);  // core/cuda_emulation.cpp

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStackSize = size_t(256) << 10;  // ASan's frames are several times larger
#else
constexpr size_t kStackSize = size_t(64) << 10;
#endif
constexpr unsigned kMaxThreadsPerBlock = 1024, kMaxBlockZ = 64, kMaxGridX = 2147483647u, kMaxGridYZ = 65535;

enum class Wait { Runnable, Barrier, Shuffle, Done };

// One CUDA thread of the block being run.
struct Thread {
  Context ctx;
  uint3 idx{};
  unsigned linear = 0;
  Wait wait = Wait::Runnable;
  const char* file = nullptr;  // where it waits
  int line = 0;
  // The shuffle it waits in.
  ShuffleKind kind = ShuffleKind::Down;
  unsigned mask = 0, lane_arg = 0;
  int width = 32;
  uint64_t value = 0, result = 0;
};

// The per-OS-thread runner: the threads of the current block, their stacks, the scheduler's
// own context and the kernel body every fiber calls.
struct Runner {
  std::vector<std::unique_ptr<FiberStack>> stacks;  // kept between launches
  std::vector<Thread> threads;
  std::vector<unsigned> order;
  Context scheduler;
  Thread* current = nullptr;
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  std::string thrown;  // what a kernel body threw (device code cannot; a host function it called may)
};
thread_local Runner tls_runner;

std::mutex& launch_mutex() {  // one stream: kernels from any host thread run one at a time
  static std::mutex m;
  return m;
}

// ---- thread order ------------------------------------------------------------------------------
struct OrderSetting {
  ThreadOrder order;
  uint64_t seed;
};
OrderSetting order_from_env() {
  OrderSetting s{ThreadOrder::Forward, 0};
  if (const char* v = env_value("MINIDL_EMU_ORDER")) {
    const std::string o = v;
    if (o == "reverse") s.order = ThreadOrder::Reverse;
    else if (o == "shuffle") s.order = ThreadOrder::Shuffle;
  }
  if (const char* v = env_value("MINIDL_EMU_SEED")) s.seed = std::strtoull(v, nullptr, 10);
  return s;
}
std::atomic<int>& order_slot() {
  static std::atomic<int> o{static_cast<int>(order_from_env().order)};
  return o;
}
std::atomic<uint64_t>& seed_slot() {
  static std::atomic<uint64_t> s{order_from_env().seed};
  return s;
}
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ---- reports -----------------------------------------------------------------------------------
std::string dims(const dim3& d) { return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")"; }
std::string dims(const uint3& d) { return dims(dim3(d.x, d.y, d.z)); }

// "0-15, 17, 20-31" from sorted thread numbers.
std::string ranges(const std::vector<unsigned>& ids) {
  std::ostringstream os;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (i) os << ", ";
    os << ids[i];
    if (j > i) os << "-" << ids[j];
    i = j + 1;
  }
  return os.str();
}

std::string where(const Thread& t) {
  switch (t.wait) {
    case Wait::Done: return "exited";
    case Wait::Barrier: return std::string("wait at __syncthreads() at ") + t.file + ":" + std::to_string(t.line);
    case Wait::Shuffle: {
      char mask[16];
      std::snprintf(mask, sizeof mask, "0x%08x", t.mask);
      return std::string("wait at ") + (t.kind == ShuffleKind::Down ? "__shfl_down_sync" : "__shfl_xor_sync") +
             "(mask " + mask + ", width " + std::to_string(t.width) + ") at " + t.file + ":" + std::to_string(t.line);
    }
    case Wait::Runnable: break;
  }
  return "running";
}

// "threads 0-15 exited; threads 16-31 wait at ..." for the given threads, grouped by state.
std::string describe(const std::vector<Thread>& threads, const std::vector<unsigned>& ids) {
  std::vector<std::pair<std::string, std::vector<unsigned>>> groups;
  for (unsigned id : ids) {
    const std::string w = where(threads[id]);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == w; });
    if (it == groups.end()) groups.push_back({w, {id}});
    else it->second.push_back(id);
  }
  std::string out;
  for (const auto& [w, g] : groups)
    out += (out.empty() ? "" : "; ") + std::string(g.size() == 1 ? "thread " : "threads ") + ranges(g) + " " + w;
  return out;
}

// ---- fibers --------------------------------------------------------------------------------------
// The kernel body for the current thread; an exception never unwinds past the fiber: it is
// reported with the block. A function of its own that returns, so that ASan unpoisons its frame
// (fiber_entry never returns: a frame with ASan redzones there would stay poisoned).
[[gnu::noinline]] void run_body(Runner& r) {
  try {
    r.body(r.ctx);
  } catch (const std::exception& e) {
    r.thrown = std::string("thread ") + std::to_string(r.current->linear) + " threw: " + e.what();
  } catch (...) {
    r.thrown = std::string("thread ") + std::to_string(r.current->linear) + " threw an exception";
  }
}

[[noreturn]] void fiber_entry() {
  Runner& r = tls_runner;
  fiber_started(r.scheduler);
  run_body(r);
  r.current->wait = Wait::Done;
  switch_context(r.current->ctx, r.scheduler, /*from_finished=*/true);
  __builtin_unreachable();
}

Thread& current_thread() {
  Runner& r = tls_runner;
  MINIDL_CHECK(r.current, "CUDA interpreter: __syncthreads() or a warp shuffle was called outside a kernel");
  return *r.current;
}

void yield(Thread& t) { switch_context(t.ctx, tls_runner.scheduler); }

// ---- one block -----------------------------------------------------------------------------------
class BlockRun {
 public:
  BlockRun(Runner& r, const LaunchInfo& info, unsigned n) : r_(r), info_(info), n_(n) {}

  // Runs the block whose blockIdx is set; returns "" or the report of what went wrong.
  std::string run(ThreadOrder order, uint64_t& rng) {
    const dim3 b = info_.block;
    for (unsigned i = 0; i < n_; ++i) {
      Thread& t = r_.threads[i];
      t.idx = {i % b.x, (i / b.x) % b.y, i / (b.x * b.y)};
      t.linear = i;
      t.wait = Wait::Runnable;
      make_context(t.ctx, *r_.stacks[i], &fiber_entry);
    }
    r_.order.resize(n_);
    std::iota(r_.order.begin(), r_.order.end(), 0u);
    if (order == ThreadOrder::Reverse) std::reverse(r_.order.begin(), r_.order.end());
    for (;;) {
      if (order == ThreadOrder::Shuffle)
        for (unsigned i = n_; i > 1; --i) std::swap(r_.order[i - 1], r_.order[splitmix64(rng) % i]);
      unsigned done = 0;
      for (unsigned id : r_.order) {
        Thread& t = r_.threads[id];
        if (t.wait == Wait::Runnable) {
          r_.current = &t;
          threadIdx = t.idx;
          switch_context(r_.scheduler, t.ctx);
          r_.current = nullptr;
          if (!r_.thrown.empty()) return abandon(block_name() + ": " + std::exchange(r_.thrown, std::string()));
        }
        done += t.wait == Wait::Done;
      }
      if (done == n_) return "";
      std::string error;
      if (resolve_shuffles(error) || !error.empty()) {
        if (!error.empty()) return abandon(error);
        continue;
      }
      if (release_barrier(error)) continue;
      return abandon(error.empty() ? "no thread can continue (internal error of the interpreter)" : error);
    }
  }

 private:
  // Ends the block after an error: the fibers that did not finish normally (stopped mid-kernel, or
  // unwound by an exception) leave ASan's stack poisoning behind, cleared before their stacks
  // are reused (an error path: the cost does not matter).
  std::string abandon(const std::string& error) {
    for (unsigned i = 0; i < n_; ++i) r_.stacks[i]->unpoison();
    return error;
  }
  std::string block_name() const {
    return "block " + dims(blockIdx);
  }
  std::string ids_word(const std::vector<unsigned>& ids) const {
    return std::string(ids.size() == 1 ? "thread " : "threads ") + ranges(ids);
  }

  // Completes every shuffle whose lanes have all arrived; a shuffle that never can is an error.
  bool resolve_shuffles(std::string& error) {
    bool progress = false;
    for (unsigned w0 = 0; w0 < n_; w0 += 32) {
      const unsigned lanes = std::min(32u, n_ - w0);
      Thread* warp = &r_.threads[w0];
      for (unsigned l = 0; l < lanes; ++l)  // each call on its own first
        if (warp[l].wait == Wait::Shuffle && !(error = bad_call(warp[l], w0 + l, lanes)).empty()) return false;
      uint32_t handled = 0;
      for (unsigned l = 0; l < lanes; ++l) {
        const Thread& t = warp[l];
        if (t.wait != Wait::Shuffle || (handled >> l & 1u)) continue;
        std::vector<unsigned> missing, all;
        for (unsigned j = 0; j < lanes; ++j) {
          if (!(t.mask >> j & 1u)) continue;
          all.push_back(w0 + j);
          const Thread& u = warp[j];
          if (u.wait != Wait::Shuffle || u.mask != t.mask || u.kind != t.kind || u.width != t.width)
            missing.push_back(w0 + j);
        }
        if (!missing.empty()) {
          std::vector<unsigned> arrived;
          for (unsigned id : all)
            if (std::find(missing.begin(), missing.end(), id) == missing.end()) arrived.push_back(id);
          error = shuffle_head(t, w0) + ": the lanes that reach it differ from its mask: " + ids_word(arrived) +
                  " wait there; " + describe(r_.threads, missing);
          return false;
        }
        for (unsigned j = 0; j < lanes; ++j) {
          if (!(t.mask >> j & 1u)) continue;
          Thread& u = warp[j];
          const unsigned width = static_cast<unsigned>(t.width), seg = j / width * width;
          unsigned src = t.kind == ShuffleKind::Down ? j + u.lane_arg : (j ^ u.lane_arg);
          if (src >= seg + width || src >= 32) src = j;  // beyond its group of `width` lanes: own value
          if (!(t.mask >> src & 1u)) {
            error = shuffle_head(t, w0) + ": thread " + std::to_string(w0 + j) + " reads lane " +
                    std::to_string(src) + ", which is not in the mask (its value is undefined)";
            return false;
          }
          u.result = warp[src].value;
        }
        for (unsigned j = 0; j < lanes; ++j)
          if (t.mask >> j & 1u) warp[j].wait = Wait::Runnable;
        handled |= t.mask;
        progress = true;
      }
    }
    return progress;
  }

  std::string shuffle_head(const Thread& t, unsigned w0) const {
    char mask[16];
    std::snprintf(mask, sizeof mask, "0x%08x", t.mask);
    return block_name() + ", warp " + std::to_string(w0 / 32) + ": " +
           (t.kind == ShuffleKind::Down ? "__shfl_down_sync" : "__shfl_xor_sync") + " at " + t.file + ":" +
           std::to_string(t.line) + " (mask " + mask + ")";
  }

  // What is wrong with one thread's shuffle call by itself ("" if nothing).
  std::string bad_call(const Thread& t, unsigned id, unsigned lanes) const {
    const unsigned lane = id % 32;
    if (t.width < 1 || t.width > 32 || (t.width & (t.width - 1)))
      return shuffle_head(t, id - lane) + ": thread " + std::to_string(id) + " passes width " +
             std::to_string(t.width) + ", which is not a power of two between 1 and 32";
    if (!(t.mask >> lane & 1u))
      return shuffle_head(t, id - lane) + ": thread " + std::to_string(id) + " is not in its own mask";
    if (lanes < 32 && (t.mask >> lanes))
      return shuffle_head(t, id - lane) + ": the mask names lanes " + std::to_string(lanes) +
             " and up, but this warp has only " + std::to_string(lanes) + " threads (the block has " +
             std::to_string(n_) + ")";
    return "";
  }

  // Releases the barrier when every thread of the block waits at the same __syncthreads().
  bool release_barrier(std::string& error) {
    const Thread* first = nullptr;
    bool divergent = false;
    for (unsigned i = 0; i < n_; ++i) {
      const Thread& t = r_.threads[i];
      if (t.wait == Wait::Barrier) {
        if (!first) first = &t;
        else divergent |= t.file != first->file || t.line != first->line;
      } else {
        divergent = true;  // exited (shuffles are resolved or reported before this)
      }
    }
    if (!first) return false;
    if (divergent) {
      std::vector<unsigned> all(n_);
      std::iota(all.begin(), all.end(), 0u);
      error = block_name() + ": __syncthreads() is not reached by every thread of the block: " +
              describe(r_.threads, all);
      return false;
    }
    for (unsigned i = 0; i < n_; ++i) r_.threads[i].wait = Wait::Runnable;
    return true;
  }

  Runner& r_;
  const LaunchInfo& info_;
  const unsigned n_;
};

std::string config_error(const LaunchInfo& in) {
  const dim3 g = in.grid, b = in.block;
  const uint64_t threads = uint64_t(b.x) * b.y * b.z;
  if (threads == 0 || g.x == 0 || g.y == 0 || g.z == 0)
    return "an empty grid " + dims(g) + " or block " + dims(b);
  if (threads > kMaxThreadsPerBlock || b.x > kMaxThreadsPerBlock || b.y > kMaxThreadsPerBlock || b.z > kMaxBlockZ)
    return "block " + dims(b) + " has " + std::to_string(threads) +
           " threads; the limit is 1024 per block (and 1024 x 1024 x 64 per dimension)";
  if (g.x > kMaxGridX || g.y > kMaxGridYZ || g.z > kMaxGridYZ)
    return "grid " + dims(g) + " exceeds the limits 2147483647 x 65535 x 65535";
  return "";
}

}  // namespace

void set_thread_order(ThreadOrder order, uint64_t seed) {
  order_slot() = static_cast<int>(order);
  seed_slot() = seed;
}
ThreadOrder thread_order() { return static_cast<ThreadOrder>(order_slot().load()); }

void syncthreads(const char* file, int line) {
  Thread& t = current_thread();
  t.wait = Wait::Barrier;
  t.file = file;
  t.line = line;
  yield(t);
}

uint64_t shuffle(ShuffleKind kind, unsigned mask, uint64_t bits, unsigned lane_arg, int width, const char* file,
                 int line) {
  Thread& t = current_thread();
  t.wait = Wait::Shuffle;
  t.kind = kind;
  t.mask = mask;
  t.value = bits;
  t.lane_arg = lane_arg;
  t.width = width;
  t.file = file;
  t.line = line;
  yield(t);
  return t.result;
}

void run_kernel(const LaunchInfo& info, void (*body)(void*), void* ctx) {
  if (const std::string e = config_error(info); !e.empty()) return fail_launch(cudaErrorInvalidConfiguration, info, e.c_str());
  Runner& r = tls_runner;
  if (r.current) return fail_launch(cudaErrorLaunchFailure, info, "a kernel launched from inside a kernel");
  std::lock_guard<std::mutex> lock(launch_mutex());
  const unsigned n = info.block.x * info.block.y * info.block.z;
  while (r.stacks.size() < n) r.stacks.push_back(std::make_unique<FiberStack>(kStackSize));
  if (r.threads.size() < n) r.threads.resize(n);
  r.body = body;
  r.ctx = ctx;
  gridDim = info.grid;
  blockDim = info.block;
  const ThreadOrder order = thread_order();
  uint64_t rng = seed_slot().load();
  BlockRun block(r, info, n);
  for (unsigned z = 0; z < info.grid.z; ++z)
    for (unsigned y = 0; y < info.grid.y; ++y)
      for (unsigned x = 0; x < info.grid.x; ++x) {
        blockIdx = {x, y, z};
        if (const std::string e = block.run(order, rng); !e.empty()) return fail_launch(cudaErrorLaunchFailure, info, e.c_str());
      }
  check_guards(info);
}

}  // namespace minidl::emu
#endif  // MINIDL_CUDA_EMULATION

// Fibers for the CUDA interpreter (core/cuda_emulation.h): user-space contexts with their own
// stacks, switched cooperatively on one OS thread. A CUDA thread of the block being run is one
// fiber; the scheduler runs on the OS thread's own stack.
//
// On x86-64 a switch saves the callee-saved registers and the SSE / x87 control words and swaps
// the stack pointer (a few nanoseconds: a block of 256 threads switches twice per thread and
// barrier). Elsewhere it is ucontext's swapcontext (slower: it also saves the signal mask).
// Under AddressSanitizer every switch is announced with __sanitizer_start_switch_fiber /
// __sanitizer_finish_switch_fiber, so ASan knows which stack is current.
#pragma once
#include <cstddef>
#include <vector>

#if !defined(__x86_64__) || defined(MINIDL_EMU_UCONTEXT)
#define MINIDL_EMU_USE_UCONTEXT 1
#include <ucontext.h>
#endif

namespace minidl::emu {

// A fiber's stack: mmap'ed, with an inaccessible guard page below it (an overflow faults instead
// of corrupting the neighbouring stack).
class FiberStack {
 public:
  explicit FiberStack(size_t size);
  ~FiberStack();
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  void* bottom() const { return base_; }  // lowest usable address
  size_t size() const { return size_; }
  // Clears ASan's poisoning left by frames of a fiber that was abandoned mid-kernel.
  void unpoison();

 private:
  void* map_ = nullptr;
  void* base_ = nullptr;
  size_t size_ = 0;
};

// A saved execution context.
struct Context {
#if MINIDL_EMU_USE_UCONTEXT
  ucontext_t uc;
#else
  void* sp = nullptr;
#endif
  // The stack this context runs on (for ASan); null for the OS thread's own stack until learnt.
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* asan_fake_stack = nullptr;
};

// Prepares ctx to start entry() on stack.
void make_context(Context& ctx, FiberStack& stack, void (*entry)());
// Saves the current context into `from` and resumes `to`. `from_finished`: the current fiber
// never runs again (ASan may free its fake stack).
void switch_context(Context& from, Context& to, bool from_finished = false);
// The first thing a fiber's entry function calls: completes the switch that started it and
// records the stack of the context that started it into `from` (for switching back).
void fiber_started(Context& from);

}  // namespace minidl::emu

// Fibers for the CUDA interpreter: see core/cuda_emulation_fiber.h.
#if MINIDL_CUDA_EMULATION
#include "core/cuda_emulation_fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define MINIDL_EMU_ASAN 1
#endif

#if !MINIDL_EMU_USE_UCONTEXT
// minidl_emu_swap(void** save_sp, void* new_sp): pushes the callee-saved registers and the x87 /
// SSE control words, stores the stack pointer in *save_sp, loads new_sp and pops the same
// frame from there. A new fiber's stack is prepared by make_context to look like such a frame
// whose return address is the entry function.
asm(R"(
  .text
  .p2align 4
  .globl minidl_emu_swap
  .hidden minidl_emu_swap
  .type minidl_emu_swap,@function
minidl_emu_swap:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  fnstcw (%rsp)
  stmxcsr 8(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size minidl_emu_swap,.-minidl_emu_swap
)");
extern "C" void minidl_emu_swap(void** save_sp, void* new_sp);
#endif

namespace minidl::emu {

FiberStack::FiberStack(size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_ = (size + page - 1) / page * page;
  map_ = mmap(nullptr, size_ + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map_ == MAP_FAILED) throw std::bad_alloc();
  mprotect(map_, page, PROT_NONE);  // the guard page (stacks grow down)
  base_ = static_cast<char*>(map_) + page;
}

FiberStack::~FiberStack() {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  munmap(map_, size_ + page);
}

void FiberStack::unpoison() {
#if MINIDL_EMU_ASAN
  ASAN_UNPOISON_MEMORY_REGION(base_, size_);
#endif
}

void make_context(Context& ctx, FiberStack& stack, void (*entry)()) {
  ctx.stack_bottom = stack.bottom();
  ctx.stack_size = stack.size();
  ctx.asan_fake_stack = nullptr;
#if MINIDL_EMU_USE_UCONTEXT
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = stack.bottom();
  ctx.uc.uc_stack.ss_size = stack.size();
  ctx.uc.uc_link = nullptr;  // entry never returns
  makecontext(&ctx.uc, entry, 0);
#else
  // The frame minidl_emu_swap pops (see above), ending in entry's "return address"; after the
  // ret the stack pointer is 8 mod 16, as after a call.
  const uintptr_t top = (reinterpret_cast<uintptr_t>(stack.bottom()) + stack.size()) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top - 80);
#if MINIDL_EMU_ASAN
  ASAN_UNPOISON_MEMORY_REGION(frame, 80);  // the frame is written here, not by an instrumented function
#endif
  uint16_t fpu_cw;
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  frame[0] = fpu_cw;
  frame[1] = __builtin_ia32_stmxcsr();
  for (int i = 2; i < 8; ++i) frame[i] = 0;  // r15 .. rbp
  frame[8] = reinterpret_cast<uint64_t>(entry);
  frame[9] = 0;  // entry's own return address: it never returns
  ctx.sp = frame;
#endif
}

void switch_context(Context& from, Context& to, bool from_finished) {
#if MINIDL_EMU_ASAN
  __sanitizer_start_switch_fiber(from_finished ? nullptr : &from.asan_fake_stack, to.stack_bottom, to.stack_size);
#else
  (void)from_finished;
#endif
#if MINIDL_EMU_USE_UCONTEXT
  swapcontext(&from.uc, &to.uc);
#else
  minidl_emu_swap(&from.sp, to.sp);
#endif
#if MINIDL_EMU_ASAN
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, nullptr, nullptr);
#endif
}

void fiber_started(Context& from) {
#if MINIDL_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &from.stack_bottom, &from.stack_size);
#else
  (void)from;
#endif
}

}  // namespace minidl::emu
#endif  // MINIDL_CUDA_EMULATION

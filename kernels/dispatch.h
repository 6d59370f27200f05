// Picking the CPU or the CUDA kernel. Every raw kernel exists twice with the same parameters
// (cpu::relu_fwd<T> and cuda::relu_fwd<T>), so a front-end selects one by the tensor's device:
//
//   MINIDL_KERNEL(x.device(), relu_fwd<T>)(x.data<T>(), y.data<T>(), n);
//
// Without the CUDA backend, asking for a CUDA kernel throws minidl::Error (it cannot happen in
// practice: no CUDA tensor can be created in such a build).
#pragma once
#include "core/device.h"
#include "core/error.h"

namespace minidl::detail {
template <class Fn>
Fn pick_kernel(Device d, Fn cpu_fn, Fn cuda_fn) {
  return d.is_cuda() ? cuda_fn : cpu_fn;
}
template <class Fn>
Fn cpu_kernel_only(Device d, Fn cpu_fn) {
  MINIDL_CHECK(d.is_cpu(), "a ", d, " tensor reached a kernel, but minidl was built without CUDA");
  return cpu_fn;
}
}  // namespace minidl::detail

#if MINIDL_WITH_CUDA
#define MINIDL_KERNEL(device, fn) ::minidl::detail::pick_kernel((device), &::minidl::cpu::fn, &::minidl::cuda::fn)
#else
#define MINIDL_KERNEL(device, fn) ::minidl::detail::cpu_kernel_only((device), &::minidl::cpu::fn)
#endif

// How a front-end (kernels/F.cpp) reaches a raw kernel. Every engine of a family implements the
// same functions with the same parameters, in its own namespace: ref::relu_fwd<T> (kernels/ref/),
// cpu:: (kernels/cpu/, tuned), cuda:: (kernels/cuda/), cudnn:: and cublas:: (kernels/cudnn/).
//
// Families with one engine per device (the reference on the CPU, the hand-written kernel on
// CUDA) pick by the tensor's device:
//   MINIDL_KERNEL(x.device(), relu_fwd<T>)(x.data<T>(), y.data<T>(), n);
// Families with an EngineChoice (kernels/engine.h) switch on choice.active(device) and name each
// engine's function with MINIDL_ENGINE_KERNEL(ns, fn), e.g. MINIDL_ENGINE_KERNEL(cudnn, conv2d_fwd<T>).
// An engine this build lacks cannot be selected (EngineChoice::set throws), and no CUDA tensor
// exists without CUDA; still, in its place stands a function that throws minidl::Error rather
// than a null pointer.
#pragma once
#include "core/device.h"
#include "core/error.h"

namespace minidl::detail {

// Stand-in for a kernel of an engine this build does not have.
template <class Fn>
struct MissingKernel;
template <class R, class... A>
struct MissingKernel<R (*)(A...)> {
  static R call(A...) { MINIDL_FAIL("a kernel of an engine that this build of minidl lacks was called"); }
};

template <class Fn>
Fn pick_kernel(Device d, Fn ref_fn, Fn cuda_fn) {
  return d.is_cuda() ? cuda_fn : ref_fn;
}

}  // namespace minidl::detail

#define MINIDL_MISSING_KERNEL_(ns, fn) (&::minidl::detail::MissingKernel<decltype(&::minidl::ns::fn)>::call)
#define MINIDL_KERNEL_ref_(fn) (&::minidl::ref::fn)
#define MINIDL_KERNEL_cpu_(fn) (&::minidl::cpu::fn)
#if MINIDL_WITH_CUDA
#define MINIDL_KERNEL_cuda_(fn) (&::minidl::cuda::fn)
#else
#define MINIDL_KERNEL_cuda_(fn) MINIDL_MISSING_KERNEL_(cuda, fn)
#endif
#if MINIDL_WITH_CUDNN
#define MINIDL_KERNEL_cudnn_(fn) (&::minidl::cudnn::fn)
#else
#define MINIDL_KERNEL_cudnn_(fn) MINIDL_MISSING_KERNEL_(cudnn, fn)
#endif
#if MINIDL_WITH_CUBLAS
#define MINIDL_KERNEL_cublas_(fn) (&::minidl::cublas::fn)
#else
#define MINIDL_KERNEL_cublas_(fn) MINIDL_MISSING_KERNEL_(cublas, fn)
#endif

// The function fn of engine namespace ns (ref, cpu, cuda, cudnn or cublas).
#define MINIDL_ENGINE_KERNEL(ns, fn) MINIDL_KERNEL_##ns##_(fn)
// The reference on CPU tensors, the hand-written CUDA kernel on CUDA tensors.
#define MINIDL_KERNEL(device, fn) \
  ::minidl::detail::pick_kernel((device), MINIDL_ENGINE_KERNEL(ref, fn), MINIDL_ENGINE_KERNEL(cuda, fn))

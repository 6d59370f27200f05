// How a front-end (kernels/F.cpp) reaches a raw kernel. Every engine of a family implements the
// same functions with the same parameters, in its own namespace: ref::relu_fwd<T> (kernels/ref/),
// cpu:: (kernels/cpu/, tuned), cuda:: (kernels/cuda/), cudnn:: and cublas:: (kernels/cudnn/).
//
// Families with one engine per device (the reference on the CPU, the hand-written kernel on
// CUDA) pick by the tensor's device:
//   MINIDL_KERNEL(x.device(), relu_fwd<T>)(x.data<T>(), y.data<T>(), n);
// Families with an EngineChoice (kernels/engine.h) pick the active engine's function, listing the
// family's engines once (each declares the function in its namespace):
//   #define CONV_ENGINES ref, cpu, cuda, cudnn
//   MINIDL_CHOSEN_KERNEL(conv_engine(), x.device(), conv2d_fwd<T>, CONV_ENGINES)(s, x, w, b, y);
// MINIDL_ENGINE_KERNEL(ns, fn) names one engine's function. An engine this build lacks cannot be
// selected (EngineChoice::set throws), and no CUDA tensor exists without CUDA; still, in its
// place stands a function that throws minidl::Error rather than a null pointer.
#pragma once
#include <initializer_list>
#include <utility>

#include "core/device.h"
#include "core/error.h"
#include "kernels/engine.h"

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

// The function of the engine that `choice` makes active on device d, from (engine, function)
// pairs: MINIDL_CHOSEN_KERNEL builds them.
template <class Fn>
Fn choose_kernel(const EngineChoice& choice, Device d, std::initializer_list<std::pair<Engine, Fn>> table) {
  const Engine active = choice.active(d);
  for (const auto& [engine, fn] : table)
    if (engine == active) return fn;
  MINIDL_FAIL(choice.family(), ": no kernel for engine ", engine_name(active));
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

// MINIDL_CHOSEN_KERNEL(choice, device, fn, engines...): see the top of this file.
#define MINIDL_ENGINE_ENUM_ref_ ::minidl::Engine::Ref
#define MINIDL_ENGINE_ENUM_cpu_ ::minidl::Engine::Cpu
#define MINIDL_ENGINE_ENUM_cuda_ ::minidl::Engine::Cuda
#define MINIDL_ENGINE_ENUM_cudnn_ ::minidl::Engine::Cudnn
#define MINIDL_ENGINE_ENUM_cublas_ ::minidl::Engine::Cublas
#define MINIDL_ENGINE_ENTRY_(fn, e) std::pair{MINIDL_ENGINE_ENUM_##e##_, MINIDL_ENGINE_KERNEL(e, fn)}
#define MINIDL_ENGINE_TABLE_1_(fn, a) MINIDL_ENGINE_ENTRY_(fn, a)
#define MINIDL_ENGINE_TABLE_2_(fn, a, b) MINIDL_ENGINE_ENTRY_(fn, a), MINIDL_ENGINE_ENTRY_(fn, b)
#define MINIDL_ENGINE_TABLE_3_(fn, a, b, c) MINIDL_ENGINE_TABLE_2_(fn, a, b), MINIDL_ENGINE_ENTRY_(fn, c)
#define MINIDL_ENGINE_TABLE_4_(fn, a, b, c, d) MINIDL_ENGINE_TABLE_3_(fn, a, b, c), MINIDL_ENGINE_ENTRY_(fn, d)
#define MINIDL_ENGINE_TABLE_5_(fn, a, b, c, d, e) MINIDL_ENGINE_TABLE_4_(fn, a, b, c, d), MINIDL_ENGINE_ENTRY_(fn, e)
#define MINIDL_ENGINE_COUNT_(_1, _2, _3, _4, _5, name, ...) name
#define MINIDL_ENGINE_TABLE_(fn, ...)                                                                     \
  MINIDL_ENGINE_COUNT_(__VA_ARGS__, MINIDL_ENGINE_TABLE_5_, MINIDL_ENGINE_TABLE_4_, MINIDL_ENGINE_TABLE_3_, \
                       MINIDL_ENGINE_TABLE_2_, MINIDL_ENGINE_TABLE_1_)(fn, __VA_ARGS__)
#define MINIDL_CHOSEN_KERNEL(choice, device, fn, ...)                                    \
  ::minidl::detail::choose_kernel<decltype(MINIDL_ENGINE_KERNEL(ref, fn))>((choice), (device), \
                                                                         {MINIDL_ENGINE_TABLE_(fn, __VA_ARGS__)})

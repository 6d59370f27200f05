// One declaration per raw kernel. A family's header (kernels/F.h) lists its raw kernels once, as
// (name, parameters) pairs in terms of the element type T:
//   #define MINIDL_REDUCE_KERNELS(K) K(sum_dim, (const T* x, T* y, int64_t outer, int64_t d, int64_t inner, T scale)) ...
// declares them in the namespace of each engine that implements them:
//   namespace ref { MINIDL_REDUCE_KERNELS(MINIDL_DECLARE_KERNEL) }
//   namespace cuda { MINIDL_REDUCE_KERNELS(MINIDL_DECLARE_KERNEL) }
// and each engine file ends, inside its namespace, with the instantiation of its definitions for
// float and double (kernels/instantiate.inc, the Caffe INSTANTIATE_CLASS idea):
//   #define MINIDL_KERNELS(K) MINIDL_REDUCE_KERNELS(K)
//   #include "kernels/instantiate.inc"
// Adding a kernel is one list entry and one definition per engine; a definition whose
// parameters drift from the list no longer matches the instantiation and fails to link.
#pragma once

#define MINIDL_DECLARE_KERNEL(name, params) template <class T> void name params;
// Used by kernels/instantiate.inc, where T is defined as float, then double.
#define MINIDL_INSTANTIATE_KERNEL(name, params) template void name<T> params;

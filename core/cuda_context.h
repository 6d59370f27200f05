// The CUDA context, seen from plain C++ (no CUDA headers here, so any file can include it).
// One device, one stream: every minidl kernel and copy runs in order on that stream, so reusing
// a freed block from the caching allocator is always safe. Handles for cuBLAS and cuDNN are
// created the first time they are needed. A machine without a GPU or driver is a normal
// condition: is_available() returns false and nothing else is touched.
// Kernel-side helpers (check macros, the stream, launch checks) are in core/cuda_utils.cuh.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"

namespace minidl::cuda {

// True when minidl was built with CUDA and a usable GPU is present (any error from the runtime
// while asking counts as "no GPU").
bool is_available();
int device_count();
std::string device_name();  // e.g. "NVIDIA H100 80GB HBM3"
void synchronize();         // waits for all queued work; reports asynchronous faults

// The caching device allocator (reuses freed blocks; see stats()).
Allocator& device_allocator();

// Copies n bytes; at least one side is a CUDA device. Device-to-host copies return when the
// data has arrived.
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n);
// On-device dtype conversion and fill.
void convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n);
void fill(void* dst, DType dtype, int64_t n, double value);

}  // namespace minidl::cuda

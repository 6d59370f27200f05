// The CUDA context, seen from plain C++ (no CUDA headers here, so any file can include it).
// One device, one stream: every minidl kernel and copy runs in order on that stream, so reusing
// a freed block from the caching allocator is always safe. Handles for cuBLAS and cuDNN are
// created the first time they are needed. A machine without a GPU or driver is a normal
// condition: is_available() returns false and nothing else is touched.
// Kernel-side helpers (check macros, the stream, launch checks) are in core/cuda_utils.cuh.
// In the CUDA interpreter build (MINIDL_CUDA=EMULATE) the same code runs on the CPU and
// is_available() is true: the "GPU" is core/cuda_emulation.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"

namespace minidl::cuda {

// Thrown when the GPU is out of memory (after the caching allocator gave its cache back and
// retried), so code with a smaller fallback (cuDNN's workspace search) can catch exactly that.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

// True when minidl was built with CUDA and a usable GPU is present (any error from the runtime
// while asking counts as "no GPU").
bool is_available();
int device_count();
std::string device_name();  // e.g. "NVIDIA H100 80GB HBM3"
// Waits for all queued work; reports asynchronous faults and data errors (below).
void synchronize();
// True in the CUDA interpreter build (MINIDL_CUDA=EMULATE).
constexpr bool is_emulated() { return MINIDL_CUDA_EMULATION != 0; }

// Data errors found by kernels (a class label out of range in a loss) do not cost a
// synchronization per call: the kernel writes {code, value, limit} into a small buffer of mapped
// host memory, data_error_slot() (a device address), and the next synchronization point
// (synchronize(), any device-to-host copy such as Tensor::item() or to(Device::cpu())) throws
// minidl::Error with the message and clears the buffer. Like a device-side assert in PyTorch,
// the error surfaces at that later call, not at the op that found it.
enum class DataError : int64_t { None = 0, NllLossTarget = 1, CrossEntropyTarget = 2 };
int64_t* data_error_slot();
// Throws (and clears) a data error recorded since the last check; call only after a sync.
void check_data_errors();

// The caching device allocator (reuses freed blocks; see stats()).
Allocator& device_allocator();

// Copies n bytes; at least one side is a CUDA device. Device-to-host copies return when the
// data has arrived.
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n);
// On-device dtype conversion and fill.
void convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n);
void fill(void* dst, DType dtype, int64_t n, double value);
// y = a + b elementwise on the device (float32 / float64; y may be a): the autograd engine's
// gradient accumulation (core/autograd.cpp), in core/cuda_accumulate.cu.
void add(const void* a, const void* b, void* y, DType dtype, int64_t n);

}  // namespace minidl::cuda

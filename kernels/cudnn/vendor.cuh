// What the vendor engines (kernels/cudnn/*.cu) share: the cuBLAS and cuDNN handles, bound to
// minidl's one stream (core/cuda_context.h) and created on first use; the status checks, which
// throw minidl::Error with file:line and the library's message; and RAII cuDNN descriptors.
// Compiled only by nvcc (the CUDA interpreter has neither library); the cuDNN part only when
// cudnn.h was found at configure time (MINIDL_WITH_CUDNN).
#pragma once
#include <cublas_v2.h>
#if MINIDL_WITH_CUDNN
#include <cudnn.h>
#endif

#include <cstdint>

#include "core/cuda_utils.cuh"

namespace minidl::cublas {
cublasHandle_t handle();  // plain FP32 math (no TF32), on cuda::stream()
const char* status_string(cublasStatus_t s);
}  // namespace minidl::cublas

#define MINIDL_CUBLAS_CHECK(expr)                                                                      \
  do {                                                                                                 \
    const cublasStatus_t st_ = (expr);                                                                 \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                                  \
      ::minidl::detail::throw_error(__FILE__, __LINE__, ::minidl::str("cuBLAS error in ", #expr, ": ", \
                                                                      ::minidl::cublas::status_string(st_))); \
  } while (0)

#if MINIDL_WITH_CUDNN
#define MINIDL_CUDNN_CHECK(expr)                                                                       \
  do {                                                                                                 \
    const cudnnStatus_t st_ = (expr);                                                                  \
    if (st_ != CUDNN_STATUS_SUCCESS)                                                                   \
      ::minidl::detail::throw_error(__FILE__, __LINE__, ::minidl::str("cuDNN error in ", #expr, ": ",  \
                                                                      cudnnGetErrorString(st_)));     \
  } while (0)

namespace minidl::cudnn {

cudnnHandle_t handle();  // on cuda::stream()

template <class T>
constexpr cudnnDataType_t data_type();
template <>
constexpr cudnnDataType_t data_type<float>() { return CUDNN_DATA_FLOAT; }
template <>
constexpr cudnnDataType_t data_type<double>() { return CUDNN_DATA_DOUBLE; }

// cuDNN takes int dimensions: v, or an error naming `what` (e.g. "conv2d (cudnn): N").
int to_int(int64_t v, const char* what);

// An NCHW tensor descriptor n x c x h x w; default-constructed it is empty, for the calls that
// derive one (cudnnDeriveBNTensorDescriptor).
class TensorDesc {
 public:
  TensorDesc();
  TensorDesc(const char* op, int64_t n, int64_t c, int64_t h, int64_t w, cudnnDataType_t t);
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

// A convolution filter k x c x r x s (NCHW).
class FilterDesc {
 public:
  FilterDesc(const char* op, int64_t k, int64_t c, int64_t r, int64_t s, cudnnDataType_t t);
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

// A cross-correlation with the given padding, stride and groups (dilation 1). float32 uses
// CUDNN_FMA_MATH: the default math would let cuDNN use TF32 tensor cores on Ampere and newer,
// which does not match the reference to 1e-4.
class ConvDesc {
 public:
  ConvDesc(const char* op, int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w, int64_t groups,
           cudnnDataType_t t);
  ~ConvDesc();
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  cudnnConvolutionDescriptor_t get() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

}  // namespace minidl::cudnn
#endif  // MINIDL_WITH_CUDNN

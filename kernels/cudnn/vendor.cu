// The vendor engines' handles and cuDNN descriptors (see vendor.cuh).
#include "kernels/cudnn/vendor.cuh"

#include <climits>

namespace minidl::cublas {

cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t handle = nullptr;
    MINIDL_CUBLAS_CHECK(cublasCreate(&handle));
    MINIDL_CUBLAS_CHECK(cublasSetStream(handle, cuda::stream()));
    // Plain FP32 (no TF32) so cuBLAS agrees with the reference to ~1e-5 and comparisons are fair.
    MINIDL_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
    return handle;
  }();
  return h;
}

const char* status_string(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED (cuBLAS could not start)";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED (out of GPU memory)";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE (bad size or leading dimension)";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "unknown cuBLAS status";
  }
}

}  // namespace minidl::cublas

#if MINIDL_WITH_CUDNN
namespace minidl::cudnn {

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t handle = nullptr;
    MINIDL_CUDNN_CHECK(cudnnCreate(&handle));
    MINIDL_CUDNN_CHECK(cudnnSetStream(handle, cuda::stream()));
    return handle;
  }();
  return h;
}

int to_int(int64_t v, const char* what) {
  MINIDL_CHECK(v >= 0 && v <= INT_MAX, what, " = ", v, " does not fit cuDNN's int dimensions");
  return static_cast<int>(v);
}

TensorDesc::TensorDesc() { MINIDL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_)); }

TensorDesc::TensorDesc(const char* op, int64_t n, int64_t c, int64_t h, int64_t w, cudnnDataType_t t)
    : TensorDesc() {
  MINIDL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, t, to_int(n, str(op, ": N").c_str()),
                                                to_int(c, str(op, ": C").c_str()), to_int(h, str(op, ": H").c_str()),
                                                to_int(w, str(op, ": W").c_str())));
}

TensorDesc::~TensorDesc() { cudnnDestroyTensorDescriptor(d_); }

FilterDesc::FilterDesc(const char* op, int64_t k, int64_t c, int64_t r, int64_t s, cudnnDataType_t t) {
  MINIDL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_));
  MINIDL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_, t, CUDNN_TENSOR_NCHW, to_int(k, str(op, ": K").c_str()),
                                                to_int(c, str(op, ": C/groups").c_str()),
                                                to_int(r, str(op, ": R").c_str()), to_int(s, str(op, ": S").c_str())));
}

FilterDesc::~FilterDesc() { cudnnDestroyFilterDescriptor(d_); }

ConvDesc::ConvDesc(const char* op, int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w, int64_t groups,
                   cudnnDataType_t t) {
  MINIDL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d_));
  MINIDL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d_, to_int(pad_h, str(op, ": padding").c_str()),
                                                     to_int(pad_w, str(op, ": padding").c_str()),
                                                     to_int(stride_h, str(op, ": stride").c_str()),
                                                     to_int(stride_w, str(op, ": stride").c_str()), 1, 1,
                                                     CUDNN_CROSS_CORRELATION, t));
  MINIDL_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d_, to_int(groups, str(op, ": groups").c_str())));
  MINIDL_CUDNN_CHECK(cudnnSetConvolutionMathType(d_, t == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));
}

ConvDesc::~ConvDesc() { cudnnDestroyConvolutionDescriptor(d_); }

}  // namespace minidl::cudnn
#endif  // MINIDL_WITH_CUDNN

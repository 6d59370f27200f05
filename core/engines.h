// Run-time choice of the implementation behind conv2d, batch_norm and GEMM on CUDA.
// The hand-written kernels are the default; cuDNN and cuBLAS are the alternatives (and the
// oracles the CUDA tests compare against). Set them in code or with environment variables:
//   MINIDL_CONV_ENGINE=native|cudnn   MINIDL_BN_ENGINE=native|cudnn   MINIDL_GEMM_ENGINE=native|cublas
// The CPU always runs minidl's own kernels. A vendor engine exists only in the nvcc build (cuDNN
// only when its headers were found at configure time); the CUDA interpreter (MINIDL_CUDA=EMULATE)
// has neither library. Selecting an engine this build lacks (in code or through the environment
// variable) throws minidl::Error with the reason; engine_available() asks first.
#pragma once
#include <string>

namespace minidl {

enum class ConvEngine { Native, CuDNN };
enum class BatchNormEngine { Native, CuDNN };
enum class GemmEngine { Native, CuBLAS };

ConvEngine conv_engine();
BatchNormEngine batch_norm_engine();
GemmEngine gemm_engine();
void set_conv_engine(ConvEngine e);
void set_batch_norm_engine(BatchNormEngine e);
void set_gemm_engine(GemmEngine e);

bool engine_available(ConvEngine e);
bool engine_available(BatchNormEngine e);
bool engine_available(GemmEngine e);
// Why this build has no cuDNN / cuBLAS engine ("" when it has one).
const char* cudnn_missing_reason();
const char* cublas_missing_reason();

const char* engine_name(ConvEngine e);
const char* engine_name(BatchNormEngine e);
const char* engine_name(GemmEngine e);

}  // namespace minidl

// Run-time choice of the implementation behind conv2d, batch_norm and GEMM on CUDA.
// The hand-written kernels are the default; cuDNN and cuBLAS are the alternatives (and the
// oracles the CUDA tests compare against). Set them in code or with environment variables:
//   MINIDL_CONV_ENGINE=native|cudnn   MINIDL_BN_ENGINE=native|cudnn   MINIDL_GEMM_ENGINE=native|cublas
// The CPU always runs minidl's own kernels.
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

const char* engine_name(ConvEngine e);
const char* engine_name(BatchNormEngine e);
const char* engine_name(GemmEngine e);

}  // namespace minidl

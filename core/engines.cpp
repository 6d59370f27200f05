#include "core/engines.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace minidl {
namespace {

// Selecting a vendor engine the build lacks is an error, never a silent fallback to native.
void require(const char* missing_reason, const char* what) {
  MINIDL_CHECK(!*missing_reason, "the ", what, " engine is not available: ", missing_reason);
}

// Reads NAME from the environment: unset -> Native; `vendor` (cudnn / cublas) -> the vendor
// engine; anything else is a clear error rather than a silent fallback.
template <class E>
E from_env(const char* var, const char* vendor, E native, E other, const char* missing_reason) {
  const char* v = std::getenv(var);
  if (!v || !*v || std::strcmp(v, "native") == 0) return native;
  if (std::strcmp(v, vendor) == 0) {
    MINIDL_CHECK(!*missing_reason, "environment variable ", var, "='", v, "': the ", vendor,
                 " engine is not available: ", missing_reason);
    return other;
  }
  MINIDL_FAIL("environment variable ", var, "='", v, "': expected 'native' or '", vendor, "'");
}

std::atomic<int>& conv_slot() {
  static std::atomic<int> e{static_cast<int>(
      from_env("MINIDL_CONV_ENGINE", "cudnn", ConvEngine::Native, ConvEngine::CuDNN, cudnn_missing_reason()))};
  return e;
}
std::atomic<int>& bn_slot() {
  static std::atomic<int> e{static_cast<int>(
      from_env("MINIDL_BN_ENGINE", "cudnn", BatchNormEngine::Native, BatchNormEngine::CuDNN, cudnn_missing_reason()))};
  return e;
}
std::atomic<int>& gemm_slot() {
  static std::atomic<int> e{static_cast<int>(
      from_env("MINIDL_GEMM_ENGINE", "cublas", GemmEngine::Native, GemmEngine::CuBLAS, cublas_missing_reason()))};
  return e;
}

}  // namespace

const char* cudnn_missing_reason() {
#if MINIDL_CUDA_EMULATION
  return "the CUDA interpreter (MINIDL_CUDA=EMULATE) has no cuDNN; it runs minidl's own kernels only";
#elif !MINIDL_WITH_CUDA
  return "minidl was built without CUDA";
#elif !MINIDL_WITH_CUDNN
  return "minidl was built without cuDNN (cudnn.h was not found at configure time; set CUDNN_ROOT)";
#else
  return "";
#endif
}

const char* cublas_missing_reason() {
#if MINIDL_CUDA_EMULATION
  return "the CUDA interpreter (MINIDL_CUDA=EMULATE) has no cuBLAS; it runs minidl's own kernels only";
#elif !MINIDL_WITH_CUBLAS
  return "minidl was built without CUDA";
#else
  return "";
#endif
}

bool engine_available(ConvEngine e) { return e == ConvEngine::Native || !*cudnn_missing_reason(); }
bool engine_available(BatchNormEngine e) { return e == BatchNormEngine::Native || !*cudnn_missing_reason(); }
bool engine_available(GemmEngine e) { return e == GemmEngine::Native || !*cublas_missing_reason(); }

ConvEngine conv_engine() { return static_cast<ConvEngine>(conv_slot().load()); }
BatchNormEngine batch_norm_engine() { return static_cast<BatchNormEngine>(bn_slot().load()); }
GemmEngine gemm_engine() { return static_cast<GemmEngine>(gemm_slot().load()); }
void set_conv_engine(ConvEngine e) {
  if (e != ConvEngine::Native) require(cudnn_missing_reason(), "cudnn conv2d");
  conv_slot() = static_cast<int>(e);
}
void set_batch_norm_engine(BatchNormEngine e) {
  if (e != BatchNormEngine::Native) require(cudnn_missing_reason(), "cudnn batch_norm");
  bn_slot() = static_cast<int>(e);
}
void set_gemm_engine(GemmEngine e) {
  if (e != GemmEngine::Native) require(cublas_missing_reason(), "cublas gemm");
  gemm_slot() = static_cast<int>(e);
}

const char* engine_name(ConvEngine e) { return e == ConvEngine::Native ? "native" : "cudnn"; }
const char* engine_name(BatchNormEngine e) { return e == BatchNormEngine::Native ? "native" : "cudnn"; }
const char* engine_name(GemmEngine e) { return e == GemmEngine::Native ? "native" : "cublas"; }

}  // namespace minidl

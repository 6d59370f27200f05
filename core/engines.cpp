#include "core/engines.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace minidl {
namespace {

// Reads NAME from the environment: unset -> Native; `vendor` (cudnn / cublas) -> the vendor
// engine; anything else is a clear error rather than a silent fallback.
template <class E>
E from_env(const char* var, const char* vendor, E native, E other) {
  const char* v = std::getenv(var);
  if (!v || !*v || std::strcmp(v, "native") == 0) return native;
  if (std::strcmp(v, vendor) == 0) return other;
  MINIDL_FAIL("environment variable ", var, "='", v, "': expected 'native' or '", vendor, "'");
}

std::atomic<int>& conv_slot() {
  static std::atomic<int> e{static_cast<int>(from_env("MINIDL_CONV_ENGINE", "cudnn", ConvEngine::Native, ConvEngine::CuDNN))};
  return e;
}
std::atomic<int>& bn_slot() {
  static std::atomic<int> e{static_cast<int>(
      from_env("MINIDL_BN_ENGINE", "cudnn", BatchNormEngine::Native, BatchNormEngine::CuDNN))};
  return e;
}
std::atomic<int>& gemm_slot() {
  static std::atomic<int> e{static_cast<int>(from_env("MINIDL_GEMM_ENGINE", "cublas", GemmEngine::Native, GemmEngine::CuBLAS))};
  return e;
}

}  // namespace

ConvEngine conv_engine() { return static_cast<ConvEngine>(conv_slot().load()); }
BatchNormEngine batch_norm_engine() { return static_cast<BatchNormEngine>(bn_slot().load()); }
GemmEngine gemm_engine() { return static_cast<GemmEngine>(gemm_slot().load()); }
void set_conv_engine(ConvEngine e) { conv_slot() = static_cast<int>(e); }
void set_batch_norm_engine(BatchNormEngine e) { bn_slot() = static_cast<int>(e); }
void set_gemm_engine(GemmEngine e) { gemm_slot() = static_cast<int>(e); }

const char* engine_name(ConvEngine e) { return e == ConvEngine::Native ? "native" : "cudnn"; }
const char* engine_name(BatchNormEngine e) { return e == BatchNormEngine::Native ? "native" : "cudnn"; }
const char* engine_name(GemmEngine e) { return e == GemmEngine::Native ? "native" : "cublas"; }

}  // namespace minidl

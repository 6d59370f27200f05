#include "core/env.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace minidl {

const std::vector<EnvVar>& env_vars() {
  static const std::vector<EnvVar> table = {
      // Engines (kernels/engine.h): a comma-separated list of engine names, at most one per device.
      {"MINIDL_CONV_ENGINE", "ref|cpu, cuda|cudnn", "conv2d's engine"},
      {"MINIDL_BN_ENGINE", "ref|cpu, cuda|cudnn", "batch_norm's engine"},
      {"MINIDL_GN_ENGINE", "ref|cpu, cuda", "group_norm's engine (also the zoo's layer norm)"},
      {"MINIDL_LN_ENGINE", "ref|cpu, cuda", "layer_norm's engine"},
      {"MINIDL_GEMM_ENGINE", "ref|cpu, cuda|cublas", "matmul's and linear's engine"},
      {"MINIDL_SOFTMAX_ENGINE", "ref|cpu, cuda", "softmax's and log_softmax's engine"},
      {"MINIDL_LOSS_ENGINE", "ref|cpu, cuda", "nll_loss's and cross_entropy's engine"},
      {"MINIDL_ELEMENTWISE_ENGINE", "ref|cpu, cuda", "add, sub, mul, affine and relu's engine"},
      {"MINIDL_DROPOUT_ENGINE", "ref|cpu, cuda", "dropout's and dropout2d's engine"},
      {"MINIDL_POOL_ENGINE", "ref|cpu, cuda", "the poolings' engine"},
      {"MINIDL_REDUCE_ENGINE", "ref|cpu, cuda", "sum's and mean's engine"},
      {"MINIDL_OPTIM_ENGINE", "ref|cpu, cuda", "the optimizers' fused updates' engine"},
      // Tuning of the CPU engines.
      {"MINIDL_CONV_LANES", "auto|always|never", "images in the vector lanes of the cpu conv engine (kernels/cpu/conv.cpp)"},
      {"MINIDL_CPU_AVX512", "0", "0: the cpu conv engine uses its AVX2 tiles on an AVX-512 machine"},
      {"MINIDL_PARALLEL_COST_US", "microseconds >= 0", "pins the cost of starting a parallel region (core/parallel.h)"},
      // Memory.
      {"MINIDL_CPU_CACHE", "0|1", "0: no caching of CPU blocks (core/allocator.cpp; off under ASan)"},
      {"MINIDL_CUDA_NO_CACHE", "0|1", "1: cudaMalloc/cudaFree per tensor (core/cuda_allocator.cpp)"},
      // CUDA checks and the interpreter.
      {"MINIDL_CUDA_SYNC", "0|1", "1: synchronize after every launch, so a fault names its kernel"},
      {"MINIDL_EMU_ORDER", "forward|reverse|shuffle", "the order of a block's threads in the CUDA interpreter"},
      {"MINIDL_EMU_SEED", "integer", "the seed of the interpreter's shuffled order"},
  };
  return table;
}

const char* env_value(const char* name) {
  bool listed = false;
  for (const EnvVar& v : env_vars()) listed = listed || std::strcmp(v.name, name) == 0;
  MINIDL_CHECK(listed, "env_value: ", name, " is not in the table of core/env.cpp");
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace minidl

#include "kernels/engine.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "core/env.h"
#include "core/error.h"
#include "kernels/conv.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/optim_update.h"
#include "kernels/pool.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"

namespace minidl {

const char* engine_name(Engine e) {
  switch (e) {
    case Engine::Ref: return "ref";
    case Engine::Cpu: return "cpu";
    case Engine::Cuda: return "cuda";
    case Engine::Cudnn: return "cudnn";
    case Engine::Cublas: return "cublas";
  }
  return "?";
}

DeviceType engine_device(Engine e) {
  return e == Engine::Ref || e == Engine::Cpu ? DeviceType::CPU : DeviceType::CUDA;
}

const char* engine_missing_reason(Engine e) {
  switch (e) {
    case Engine::Ref:
    case Engine::Cpu: return "";
    case Engine::Cuda:
#if MINIDL_WITH_CUDA
      return "";
#else
      return "minidl was built without CUDA";
#endif
    case Engine::Cudnn:
#if MINIDL_CUDA_EMULATION
      return "the CUDA interpreter (MINIDL_CUDA=EMULATE) has no cuDNN; it runs minidl's own kernels only";
#elif !MINIDL_WITH_CUDA
      return "minidl was built without CUDA";
#elif !MINIDL_WITH_CUDNN
      return "minidl was built without cuDNN (cudnn.h was not found at configure time; set CUDNN_ROOT)";
#else
      return "";
#endif
    case Engine::Cublas:
#if MINIDL_CUDA_EMULATION
      return "the CUDA interpreter (MINIDL_CUDA=EMULATE) has no cuBLAS; it runs minidl's own kernels only";
#elif !MINIDL_WITH_CUBLAS
      return "minidl was built without CUDA";
#else
      return "";
#endif
  }
  return "unknown engine";
}

namespace {

std::string names(const std::vector<Engine>& list) {
  std::string s;
  for (Engine e : list) s += (s.empty() ? "" : ", ") + std::string(engine_name(e));
  return s;
}

}  // namespace

EngineChoice::EngineChoice(const char* family, const char* env_var, std::initializer_list<Engine> cpu,
                           std::initializer_list<Engine> cuda)
    : family_(family), env_var_(env_var), cpu_list_(cpu), cuda_list_(cuda) {
  reset();
  const char* v = env_value(env_var);
  if (!v) return;
  // A comma-separated list of engine names, at most one per device.
  std::istringstream in(v);
  std::string name;
  bool seen_cpu = false, seen_cuda = false;
  while (std::getline(in, name, ',')) {
    const std::vector<Engine> all = {Engine::Ref, Engine::Cpu, Engine::Cuda, Engine::Cudnn, Engine::Cublas};
    auto it = std::find_if(all.begin(), all.end(), [&](Engine e) { return name == engine_name(e); });
    const std::string how = str("environment variable ", env_var, "='", v, "'");
    MINIDL_CHECK(it != all.end(), how, ": unknown engine '", name, "'; ", family_, " has ", names(cpu_list_),
                 " (CPU) and ", names(cuda_list_), " (CUDA)");
    bool& seen = engine_device(*it) == DeviceType::CUDA ? seen_cuda : seen_cpu;
    MINIDL_CHECK(!seen, how, ": two engines for the same device");
    seen = true;
    check_selectable(*it, how.c_str());
    assign(*it);
  }
}

void EngineChoice::check_selectable(Engine e, const char* how) const {
  const std::vector<Engine>& list = engines(engine_device(e));
  MINIDL_CHECK(std::find(list.begin(), list.end(), e) != list.end(), how, ": ", family_, " has no ", engine_name(e),
               " engine (", engine_device(e) == DeviceType::CUDA ? "CUDA" : "CPU", ": ", names(list), ")");
  MINIDL_CHECK(engine_available(e), how, ": the ", engine_name(e), " engine of ", family_,
               " is not available: ", engine_missing_reason(e));
}

void EngineChoice::set(Engine e) {
  check_selectable(e, "set");
  assign(e);
}

void EngineChoice::reset() {
  cpu_ = static_cast<int>(cpu_list_.front());
  cuda_ = static_cast<int>(cuda_list_.front());
}

const std::vector<EngineChoice*>& engine_registry() {
  static const std::vector<EngineChoice*> all = {
      &conv_engine(), &batch_norm_engine(), &group_norm_engine(), &layer_norm_engine(), &gemm_engine(),
      &softmax_engine(), &loss_engine(), &elementwise_engine(), &dropout_engine(), &pool_engine(),
      &reduce_engine(), &optim_update_engine()};
  return all;
}

EngineGuard::EngineGuard(EngineChoice& choice, Engine e)
    : choice_(choice), previous_(choice.active({engine_device(e), 0})) {
  choice_.set(e);
}

EngineGuard::~EngineGuard() { choice_.assign(previous_); }  // was active: no check needed

}  // namespace minidl

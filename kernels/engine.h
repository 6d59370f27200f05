// Engines: the implementations behind an op family, and how one is chosen.
//
// Every family F has a reference, kernels/ref/F.cpp (plain loops next to the math; gradcheck
// runs on it), and a hand-written CUDA engine, kernels/cuda/F.cu. Some also have a tuned CPU
// engine (kernels/cpu/F.cpp) or a vendor engine (kernels/cudnn/F.cu: cuDNN, cuBLAS). Each engine
// belongs to one device; a tensor's device picks the engine of that device that is active.
//
// Families with a choice say so in their front-end, kernels/F.cpp, with one EngineChoice: the
// engines per device (the first is the default), and the environment variable that overrides the
// default. Its accessor is declared in F.h, so a program chooses with one call:
//   conv_engine().set(Engine::Cudnn);         // on CUDA tensors conv2d now runs cuDNN
//   MINIDL_CONV_ENGINE=ref ./train_cifar ...  // on CPU tensors conv2d runs the reference
// The variable takes a comma-separated list of engine names (ref, cpu, cuda, cudnn, cublas), at
// most one per device: MINIDL_CONV_ENGINE=ref,cudnn. The families with a choice are those of
// engine_registry() (below); docs/architecture.md tables them with their engines and variables.
// Every other family runs ref on the CPU and cuda on CUDA (MINIDL_KERNEL in kernels/dispatch.h).
// Selecting an engine this build lacks (cuDNN without its headers, cuBLAS or cuDNN in the CUDA
// interpreter, anything CUDA in a CPU-only build), or one the family does not have, throws
// minidl::Error with the reason; so does a bad environment variable, at the first use of the op.
#pragma once
#include <atomic>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/device.h"

namespace minidl {

enum class Engine { Ref, Cpu, Cuda, Cudnn, Cublas };

const char* engine_name(Engine e);  // "ref", "cpu", "cuda", "cudnn", "cublas"
DeviceType engine_device(Engine e);
// Why this build cannot run e ("" when it can).
const char* engine_missing_reason(Engine e);
inline bool engine_available(Engine e) { return !*engine_missing_reason(e); }

class EngineChoice {
 public:
  // family names the ops in messages ("conv2d"); cpu / cuda list the family's engines of each
  // device, the default first.
  EngineChoice(const char* family, const char* env_var, std::initializer_list<Engine> cpu,
               std::initializer_list<Engine> cuda);
  EngineChoice(const EngineChoice&) = delete;
  EngineChoice& operator=(const EngineChoice&) = delete;

  // The engine that runs on tensors of device d.
  Engine active(Device d) const { return static_cast<Engine>((d.is_cuda() ? cuda_ : cpu_).load()); }
  // Makes e the active engine of its device (throws when the family has no such engine or this
  // build lacks it).
  void set(Engine e);
  // Back to the defaults (the environment variable is not read again).
  void reset();
  const std::vector<Engine>& engines(DeviceType t) const { return t == DeviceType::CUDA ? cuda_list_ : cpu_list_; }
  const char* family() const { return family_; }
  const char* env_var() const { return env_var_; }

 private:
  friend class EngineGuard;
  void check_selectable(Engine e, const char* how) const;
  void assign(Engine e) { (engine_device(e) == DeviceType::CUDA ? cuda_ : cpu_) = static_cast<int>(e); }
  const char* family_;
  const char* env_var_;
  std::vector<Engine> cpu_list_, cuda_list_;
  std::atomic<int> cpu_, cuda_;
};

// Every family with an engine choice, in one list (kernels/engine.cpp): a new family registers
// here once, and the test runners, the engine tests and the documentation checks iterate it.
const std::vector<EngineChoice*>& engine_registry();

// Sets an engine for the lifetime of the guard (tests, benchmarks), then restores the one before.
class EngineGuard {
 public:
  EngineGuard(EngineChoice& choice, Engine e);
  ~EngineGuard();
  EngineGuard(const EngineGuard&) = delete;
  EngineGuard& operator=(const EngineGuard&) = delete;

 private:
  EngineChoice& choice_;
  Engine previous_;
};

}  // namespace minidl

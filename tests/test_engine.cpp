// Engines: the defaults, choosing one in code (set, EngineGuard) and through the environment
// variable, and the errors for an engine a family or this build does not have.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>

#include "core/cuda_context.h"
#include "kernels/conv.h"
#include "kernels/engine.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/softmax.h"
#include "test_util.h"

using namespace minidl;

TEST_CASE("engine defaults", "[engine]") {
  // The tuned engine where one exists, the reference elsewhere; the hand-written kernels on CUDA.
  CHECK(conv_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(gemm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(softmax_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(loss_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(batch_norm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(group_norm_engine().active(Device::cpu()) == Engine::Cpu);
  CHECK(layer_norm_engine().active(Device::cpu()) == Engine::Cpu);
  for (EngineChoice* c : {&conv_engine(), &gemm_engine(), &softmax_engine(), &loss_engine(), &batch_norm_engine(),
                          &group_norm_engine(), &layer_norm_engine()})
    CHECK(c->active(Device::cuda()) == Engine::Cuda);
  CHECK(std::string(conv_engine().env_var()) == "MINIDL_CONV_ENGINE");
  CHECK(std::string(engine_name(Engine::Cudnn)) == "cudnn");
  CHECK(engine_device(Engine::Ref) == DeviceType::CPU);
  CHECK(engine_device(Engine::Cublas) == DeviceType::CUDA);
}

TEST_CASE("engine set and guard", "[engine]") {
  {
    const EngineGuard use(conv_engine(), Engine::Ref);
    CHECK(conv_engine().active(Device::cpu()) == Engine::Ref);
    CHECK(conv_engine().active(Device::cuda()) == Engine::Cuda);  // the other device keeps its engine
  }
  CHECK(conv_engine().active(Device::cpu()) == Engine::Cpu);  // restored
  conv_engine().set(Engine::Ref);
  CHECK(conv_engine().active(Device::cpu()) == Engine::Ref);
  conv_engine().reset();
  CHECK(conv_engine().active(Device::cpu()) == Engine::Cpu);
}

TEST_CASE("engine errors name the family and the reason", "[engine][errors]") {
  // An engine the family does not have.
  CHECK_THROWS_WITH(softmax_engine().set(Engine::Cudnn),
                    Catch::Contains("softmax has no cudnn engine") && Catch::Contains("CUDA: cuda"));
  CHECK_THROWS_WITH(batch_norm_engine().set(Engine::Cublas), Catch::Contains("batch_norm has no cublas engine"));
  CHECK_THROWS_WITH(group_norm_engine().set(Engine::Cudnn), Catch::Contains("group_norm has no cudnn engine"));
  CHECK_THROWS_WITH(layer_norm_engine().set(Engine::Cudnn), Catch::Contains("layer_norm has no cudnn engine"));
  // A vendor engine this build lacks (every build without a GPU toolkit; the interpreter too).
  if (!engine_available(Engine::Cudnn)) {
    CHECK_THROWS_WITH(conv_engine().set(Engine::Cudnn),
                      Catch::Contains("not available") && Catch::Contains(engine_missing_reason(Engine::Cudnn)));
    CHECK(conv_engine().active(Device::cuda()) == Engine::Cuda);  // unchanged
  }
  if (!engine_available(Engine::Cuda)) CHECK_THROWS_WITH(conv_engine().set(Engine::Cuda), Catch::Contains("without CUDA"));
  CHECK(engine_available(Engine::Ref));
  CHECK(engine_available(Engine::Cpu));
}

TEST_CASE("engine environment variable", "[engine]") {
  // A choice reads its variable once, when it is made: a family of our own for the test.
  auto make = [](const char* value) {
    ::setenv("MINIDL_TEST_ENGINE", value, 1);
    return std::make_unique<EngineChoice>("test_op", "MINIDL_TEST_ENGINE", std::initializer_list<Engine>{Engine::Cpu, Engine::Ref},
                                          std::initializer_list<Engine>{Engine::Cuda});
  };
  CHECK(make("")->active(Device::cpu()) == Engine::Cpu);
  CHECK(make("ref")->active(Device::cpu()) == Engine::Ref);
  if (engine_available(Engine::Cuda)) CHECK(make("ref,cuda")->active(Device::cuda()) == Engine::Cuda);
  CHECK_THROWS_WITH(make("fast"), Catch::Contains("MINIDL_TEST_ENGINE='fast'") && Catch::Contains("unknown engine 'fast'") &&
                                      Catch::Contains("test_op has cpu, ref (CPU) and cuda (CUDA)"));
  CHECK_THROWS_WITH(make("cudnn"), Catch::Contains("test_op has no cudnn engine"));
  CHECK_THROWS_WITH(make("ref,cpu"), Catch::Contains("two engines for the same device"));
  ::unsetenv("MINIDL_TEST_ENGINE");
}

// CUDA test runner: only the [cuda] cases (or the filter given on the command line), each CUDA
// engine compared with the reference engine on the CPU.
// - On a GPU (the nvcc build) every case runs.
// - In the CUDA interpreter build (MINIDL_CUDA=EMULATE) the same cases run on the CPU.
// - Without a GPU it exits with 77, which ctest reports as "skipped" (SKIP_RETURN_CODE).
// Cases tagged [cudnn] or [cublas] need that vendor library; when this build lacks it they are
// listed by name as SKIPPED with the reason and left out of the run (Catch2 2.x has no SKIP).
// When every selected case is skipped that way, the exit code is 77 too.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "kernels/conv.h"
#include "kernels/engine.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/norm.h"
#include "kernels/softmax.h"

namespace {

struct Missing {
  const char* tag;  // lower case, as Catch stores tags
  const char* library;
  const char* reason;
};

// Each comma-separated alternative of the filter gets every exclusion ("~[cudnn]"), each as a
// separate entry (see main_cpu.cpp: an exclusion binds to one alternative only).
std::vector<std::string> exclude(const std::vector<std::string>& specs, const std::vector<std::string>& exclusions) {
  std::vector<std::string> out;
  auto close_alternative = [&](bool comma) {
    for (size_t i = 0; i < exclusions.size(); ++i)
      out.push_back(exclusions[i] + (comma && i + 1 == exclusions.size() ? "," : ""));
  };
  for (const std::string& spec : specs) {
    std::string piece;
    bool escaped = false;  // "\," is a comma inside a test name
    for (char c : spec) {
      if (c == ',' && !escaped) {
        out.push_back(piece);
        close_alternative(true);
        piece.clear();
      } else {
        piece += c;
      }
      escaped = c == '\\' && !escaped;
    }
    out.push_back(piece);
    close_alternative(false);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (!minidl::cuda::is_available()) {
    std::printf("minidl_cuda_tests: no CUDA GPU available (or minidl built without CUDA): skipping\n");
    return 77;
  }
  std::printf("minidl_cuda_tests: running on %s%s\n", minidl::cuda::device_name().c_str(),
              minidl::cuda::is_emulated() ? " (every kernel runs on the CPU; see core/cuda_emulation.h)" : "");
  // Every CUDA engine is checked against the reference: the CPU side of each comparison (the
  // parity cases, the random-shape sweep) runs kernels/ref/, also for the families whose default
  // CPU engine is a tuned one.
  for (minidl::EngineChoice* c : minidl::engine_registry()) c->set(minidl::Engine::Ref);
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  Catch::ConfigData data = session.configData();
  if (data.testsOrTags.empty()) data.testsOrTags.push_back("[cuda]");
  session.useConfigData(data);

  std::vector<Missing> missing;
  using minidl::Engine;
  if (!minidl::engine_available(Engine::Cudnn))
    missing.push_back({"cudnn", "cuDNN", minidl::engine_missing_reason(Engine::Cudnn)});
  if (!minidl::engine_available(Engine::Cublas))
    missing.push_back({"cublas", "cuBLAS", minidl::engine_missing_reason(Engine::Cublas)});
  std::vector<std::string> skipped;
  size_t selected = 0;
  const Catch::Config& config = session.config();
  for (const Catch::TestCase& tc : Catch::filterTests(Catch::getAllTestCasesSorted(config), config.testSpec(), config)) {
    ++selected;
    for (const Missing& m : missing)
      if (std::find(tc.lcaseTags.begin(), tc.lcaseTags.end(), m.tag) != tc.lcaseTags.end()) {
        skipped.push_back(tc.name + " (needs " + m.library + ": " + m.reason + ")");
        break;
      }
  }
  for (const std::string& s : skipped) std::printf("SKIPPED: %s\n", s.c_str());
  if (selected > 0 && skipped.size() == selected) return 77;
  if (!missing.empty()) {
    std::vector<std::string> exclusions;
    for (const Missing& m : missing) exclusions.push_back(std::string("~[") + m.tag + "]");
    data.testsOrTags = exclude(data.testsOrTags, exclusions);
    session.useConfigData(data);
  }
  const int rc = session.run();
  if (!skipped.empty())
    std::printf("minidl_cuda_tests: %zu test case(s) skipped (SKIPPED lines above): their vendor library is missing\n",
                skipped.size());
  return rc;
}

// CUDA test runner: only the [cuda] cases. Without a GPU it exits with 77, which ctest reports
// as "skipped" (SKIP_RETURN_CODE), so the suite stays green on machines without one.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "core/cuda_context.h"

int main(int argc, char** argv) {
  if (!minidl::cuda::is_available()) {
    std::printf("minidl_cuda_tests: no CUDA GPU available (or minidl built without CUDA): skipping\n");
    return 77;
  }
  std::printf("minidl_cuda_tests: running on %s\n", minidl::cuda::device_name().c_str());
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  if (session.configData().testsOrTags.empty()) session.configData().testsOrTags.push_back("[cuda]");
  return session.run();
}

// CPU test runner: every test case except the [cuda] ones, which belong to minidl_cuda_tests.
// A filter given on the command line is narrowed the same way ("[norm]" runs "[norm]" and
// not "[cuda]"), so a CPU-only machine does not run cases that need a GPU.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  session.configData().testsOrTags.push_back("~[cuda]");  // a separate spec: ANDed with the user's
  return session.run();
}

// CPU test runner: every test case except the [cuda] ones (unless a test spec is given).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  if (session.configData().testsOrTags.empty()) session.configData().testsOrTags.push_back("~[cuda]");
  return session.run();
}

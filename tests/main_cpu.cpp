// CPU test runner: every test case except the [cuda] ones, which belong to minidl_cuda_tests.
// A filter given on the command line is narrowed the same way ("[norm]" runs "[norm]" and
// not "[cuda]"), so a CPU-only machine does not run cases that need a GPU.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <string>
#include <vector>

int main(int argc, char** argv) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  // A comma separates alternatives ("[data],[augment]" is [data] OR [augment]) and an exclusion
  // binds to one alternative only, so every alternative gets its own "~[cuda]". It goes in as a
  // separate entry: Catch continues the current filter across entries, and inside one entry
  // "name ~[cuda]" would read as the name "name ~" and the tag [cuda].
  std::vector<std::string> narrowed;
  for (const std::string& spec : session.configData().testsOrTags) {
    std::string piece;
    bool escaped = false;  // "\," is a comma inside a test name (ctest passes names escaped)
    for (char c : spec) {
      if (c == ',' && !escaped) {
        narrowed.push_back(piece);
        narrowed.push_back("~[cuda],");
        piece.clear();
      } else {
        piece += c;
      }
      escaped = c == '\\' && !escaped;
    }
    narrowed.push_back(piece);
    narrowed.push_back("~[cuda]");
  }
  if (narrowed.empty()) narrowed.push_back("~[cuda]");
  session.configData().testsOrTags = narrowed;
  return session.run();
}

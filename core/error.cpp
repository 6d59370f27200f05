#include "core/error.h"

#include <cstring>

namespace minidl::detail {

void throw_error(const char* file, int line, const std::string& msg) {
  // Keep the path short and relative to the repository: "kernels/conv.cpp:42" reads better than an
  // absolute build path. The last top-level folder name in the path marks where the repo starts.
  const char* short_file = file;
  for (const char* root : {"/core/", "/kernels/", "/layers/", "/optim/", "/data/", "/apps/", "/tests/"}) {
    for (const char* p = std::strstr(file, root); p; p = std::strstr(p + 1, root))
      if (p + 1 > short_file) short_file = p + 1;
  }
  throw Error(msg + " (" + short_file + ":" + std::to_string(line) + ")");
}

}  // namespace minidl::detail

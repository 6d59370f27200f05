#include "core/error.h"

#include <cstring>

namespace minidl::detail {

void throw_error(const char* file, int line, const std::string& msg) {
  // Keep the path short: "kernels/conv.cpp:42" reads better than an absolute build path.
  const char* short_file = file;
  for (const char* root : {"/core/", "/kernels/", "/layers/", "/optim/", "/data/", "/apps/", "/tests/"}) {
    if (const char* p = std::strstr(file, root)) {
      short_file = p + 1;
      break;
    }
  }
  throw Error(msg + " (" + short_file + ":" + std::to_string(line) + ")");
}

}  // namespace minidl::detail

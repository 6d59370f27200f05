// Errors: every misuse of the library throws minidl::Error with the file:line that detected it
// and a message that names the values involved. The library never calls exit() or abort().
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace minidl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// str(a, b, c): concatenates anything printable with operator<<.
template <class... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

namespace detail {
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace minidl

// MINIDL_CHECK(cond, "what went wrong: ", value, ...) throws minidl::Error when cond is false.
#define MINIDL_CHECK(cond, ...)                                                   \
  do {                                                                            \
    if (!(cond)) ::minidl::detail::throw_error(__FILE__, __LINE__, ::minidl::str(__VA_ARGS__)); \
  } while (0)

// MINIDL_FAIL("message", ...) throws unconditionally.
#define MINIDL_FAIL(...) ::minidl::detail::throw_error(__FILE__, __LINE__, ::minidl::str(__VA_ARGS__))

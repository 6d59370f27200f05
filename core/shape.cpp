#include "core/shape.h"

#include "core/error.h"

namespace minidl {

int64_t Shape::numel() const { return prod(0, ndim()); }

// Checked: a shape read from a file can be anything, and a product that wraps around (e.g.
// [2^62, 4] -> 0) would let a later allocation be too small for the data written into it.
int64_t Shape::prod(int64_t begin, int64_t end) const {
  int64_t n = 1;
  for (int64_t d = begin; d < end; ++d) {
    MINIDL_CHECK(dims_[d] >= 0, "shape ", str(), " has a negative size");
    MINIDL_CHECK(!__builtin_mul_overflow(n, dims_[d], &n), "shape ", str(), " has more than 2^63 elements");
  }
  return n;
}

size_t Shape::wrap(int64_t d) const {
  const int64_t n = ndim();
  MINIDL_CHECK(d >= -n && d < n, "dimension ", d, " is out of range for shape ", str(),
               " (expected ", -n, " <= dim < ", n, ")");
  return static_cast<size_t>(d < 0 ? d + n : d);
}

std::string Shape::str() const {
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

}  // namespace minidl

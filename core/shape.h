// Shape: the sizes of a contiguous row-major (NCHW) tensor. Prints as [3, 6, 5, 7].
#pragma once
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace minidl {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int64_t ndim() const { return static_cast<int64_t>(dims_.size()); }
  // Size of dimension d; negative d counts from the end (-1 is the last). Throws if out of range.
  int64_t operator[](int64_t d) const { return dims_[wrap(d)]; }
  int64_t& operator[](int64_t d) { return dims_[wrap(d)]; }
  int64_t numel() const;
  // Product of the sizes in [begin, end).
  int64_t prod(int64_t begin, int64_t end) const;
  // Normalizes a possibly negative dimension index, throwing minidl::Error when out of range.
  size_t wrap(int64_t d) const;

  const std::vector<int64_t>& dims() const { return dims_; }
  std::vector<int64_t>::const_iterator begin() const { return dims_.begin(); }
  std::vector<int64_t>::const_iterator end() const { return dims_.end(); }
  std::string str() const;

  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return dims_ != o.dims_; }

 private:
  std::vector<int64_t> dims_;
};

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace minidl

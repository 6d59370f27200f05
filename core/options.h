// The one options style of minidl, libtorch's: an options struct per op or layer whose fields
// have a chained setter and a getter,
//   nn::Conv2dOptions(3, 16, 3).stride(2).padding(1);   opts.stride() == Size2(2)
//   optim::SGDOptions(0.1).momentum(0.9).nesterov(true)
// Functional options are named XxxFuncOptions (ops::Conv2dFuncOptions: the geometry conv2d
// needs), layer options XxxOptions (nn::Conv2dOptions: the layer's channels, kernel, bias, ... and
// that geometry), as in libtorch.
#pragma once
#include <cstdint>
#include <ostream>

// MINIDL_ARG(type, name, default): a field with a chained setter and a getter (libtorch's
// TORCH_ARG). Leaves the class in its `private:` section.
#define MINIDL_ARG(T, name, init)            \
 public:                                     \
  auto& name(T value) {                      \
    name##_ = value;                         \
    return *this;                            \
  }                                          \
  const T& name() const { return name##_; }  \
                                             \
 private:                                    \
  T name##_ = init;

namespace minidl {

// A (height, width) pair given as one number for both or as {h, w}, like libtorch's
// ExpandingArray<2>:  .kernel_size(3)   .stride({2, 1})
struct Size2 {
  int64_t h, w;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit, so 3 reads as (3, 3)
  Size2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
  bool operator!=(const Size2& o) const { return !(*this == o); }
};
inline std::ostream& operator<<(std::ostream& os, const Size2& s) { return os << "(" << s.h << ", " << s.w << ")"; }

}  // namespace minidl

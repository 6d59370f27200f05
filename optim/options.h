// MINIDL_ARG(type, name, default): an option with a chained setter and a getter, like
// libtorch's TORCH_ARG:  SGDOptions(0.1).momentum(0.9).nesterov(true);  opts.momentum() == 0.9
#pragma once

#define MINIDL_ARG(T, name, init)            \
 public:                                     \
  auto& name(T value) {                      \
    name##_ = value;                         \
    return *this;                            \
  }                                          \
  T name() const { return name##_; }         \
                                             \
 private:                                    \
  T name##_ = init;

#include "layers/dropout.h"

#include "kernels/dropout.h"

namespace minidl::nn {

Dropout::Dropout(double p) : p_(p) {
  MINIDL_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got ", p);
}
Tensor Dropout::forward(const Tensor& x) { return ops::dropout(x, p_, training_); }

Dropout2d::Dropout2d(double p) : p_(p) {
  MINIDL_CHECK(p >= 0.0 && p <= 1.0, "Dropout2d: p must be in [0, 1], got ", p);
}
Tensor Dropout2d::forward(const Tensor& x) { return ops::dropout2d(x, p_, training_); }

}  // namespace minidl::nn

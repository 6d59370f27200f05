#include "layers/dropout.h"

#include "kernels/dropout.h"

namespace minidl::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& o) : options_(o) {
  MINIDL_CHECK(o.p() >= 0.0 && o.p() <= 1.0, "Dropout: p must be in [0, 1], got ", o.p());
}
Tensor DropoutImpl::forward(const Tensor& x) { return ops::dropout(x, options_.p(), training_); }

Dropout2dImpl::Dropout2dImpl(const Dropout2dOptions& o) : options_(o) {
  MINIDL_CHECK(o.p() >= 0.0 && o.p() <= 1.0, "Dropout2d: p must be in [0, 1], got ", o.p());
}
Tensor Dropout2dImpl::forward(const Tensor& x) { return ops::dropout2d(x, options_.p(), training_); }

}  // namespace minidl::nn

#include "layers/pool.h"

#include <algorithm>

namespace minidl::nn {
namespace {
std::string pool_repr(const ops::Pool2dFuncOptions& o) {
  return minidl::str("kernel_size=", o.kernel_size(), ", stride=", o.stride(), ", padding=", o.padding());
}
ReceptiveField window(ReceptiveField in, int64_t k, int64_t s) { return {in.size + (k - 1) * in.jump, in.jump * s}; }
}  // namespace

std::string MaxPool2dImpl::extra_repr() const { return pool_repr(options_); }
std::string AvgPool2dImpl::extra_repr() const { return pool_repr(options_); }
ReceptiveField MaxPool2dImpl::receptive_field(ReceptiveField in, const Shape&) const {
  return window(in, options_.kernel_size().h, options_.stride().h);
}
ReceptiveField AvgPool2dImpl::receptive_field(ReceptiveField in, const Shape&) const {
  return window(in, options_.kernel_size().h, options_.stride().h);
}
ReceptiveField AdaptiveAvgPool2dImpl::receptive_field(ReceptiveField in, const Shape& s) const {
  // Each output cell covers about H / out_h input rows (all of them for global pooling).
  const int64_t h = s.ndim() == 4 ? s[2] : 1, out_h = options_.output_size().h;
  return window(in, (h + out_h - 1) / out_h, std::max<int64_t>(1, h / out_h));
}

}  // namespace minidl::nn

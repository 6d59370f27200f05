#include "layers/pool.h"

namespace minidl::nn {
namespace {
std::string pool_repr(const Pool2dOptions& o) {
  return minidl::str("kernel_size=(", o.kernel_h, ", ", o.kernel_w, "), stride=(", o.stride_h, ", ", o.stride_w,
             "), padding=(", o.pad_h, ", ", o.pad_w, ")");
}
ReceptiveField window(ReceptiveField in, int64_t k, int64_t s) { return {in.size + (k - 1) * in.jump, in.jump * s}; }
}  // namespace

std::string MaxPool2d::extra_repr() const { return pool_repr(options_); }
std::string AvgPool2d::extra_repr() const { return pool_repr(options_); }
ReceptiveField MaxPool2d::receptive_field(ReceptiveField in, const Shape&) const {
  return window(in, options_.kernel_h, options_.stride_h);
}
ReceptiveField AvgPool2d::receptive_field(ReceptiveField in, const Shape&) const {
  return window(in, options_.kernel_h, options_.stride_h);
}
ReceptiveField AdaptiveAvgPool2d::receptive_field(ReceptiveField in, const Shape& s) const {
  // Each output cell covers about H / out_h input rows (all of them for global pooling).
  const int64_t h = s.ndim() == 4 ? s[2] : 1;
  return window(in, (h + out_h_ - 1) / out_h_, std::max<int64_t>(1, h / out_h_));
}

}  // namespace minidl::nn

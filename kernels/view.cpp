// Front-end of reshape / flatten. The gradient of a view is the same view backwards:
// dx = dy viewed with x's shape.
#include "kernels/view.h"

#include "core/autograd.h"

namespace minidl {
namespace {

struct ReshapeBackward : Node {
  Shape input_shape;
  std::string name() const override { return "ReshapeBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override { return {dy.view(input_shape)}; }
};

Tensor view_with_grad(const Tensor& x, const Shape& shape) {
  Tensor y = x.view(shape);
  if (needs_grad({x})) {
    auto node = std::make_shared<ReshapeBackward>();
    node->input_shape = x.shape();
    connect(y, node, {x});
  }
  return y;
}

}  // namespace

namespace ops {

Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape) {
  std::vector<int64_t> dims = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      MINIDL_CHECK(infer < 0, "reshape: only one size may be -1, got ", Shape(shape));
      infer = static_cast<int64_t>(i);
    } else {
      MINIDL_CHECK(dims[i] >= 0, "reshape: invalid size ", dims[i], " in ", Shape(shape));
      known *= dims[i];
    }
  }
  if (infer >= 0) {
    MINIDL_CHECK(known > 0 && x.numel() % known == 0, "reshape: cannot reshape ", x.shape(), " (", x.numel(),
                 " elements) into ", Shape(shape));
    dims[infer] = x.numel() / known;
  }
  MINIDL_CHECK(Shape(dims).numel() == x.numel(), "reshape: cannot reshape ", x.shape(), " (", x.numel(),
               " elements) into ", Shape(shape), " (", Shape(dims).numel(), " elements)");
  return view_with_grad(x, Shape(dims));
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  const Shape& s = x.shape();
  if (s.ndim() == 0) return view_with_grad(x, Shape{1});
  const int64_t a = static_cast<int64_t>(s.wrap(start_dim)), b = static_cast<int64_t>(s.wrap(end_dim));
  MINIDL_CHECK(a <= b, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim, " for shape ", s);
  std::vector<int64_t> dims(s.begin(), s.begin() + a);
  dims.push_back(s.prod(a, b + 1));
  dims.insert(dims.end(), s.begin() + b + 1, s.end());
  return view_with_grad(x, Shape(dims));
}

}  // namespace ops
}  // namespace minidl

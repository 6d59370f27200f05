// Front-end of the broadcasting binary ops: the broadcast shape, the strides each input is read
// with, the CPU-or-CUDA dispatch (one engine per device: the reference on CPU tensors, the CUDA
// kernels on CUDA tensors), and the backward node: per-element partials times dy, output-shaped,
// then summed over the dimensions each input was broadcast along (sum_to):
//   da = sum_to(dy * df/da, shape(a)),   db = sum_to(dy * df/db, shape(b))
#include "kernels/broadcast.h"

#include <string>

#include "core/autograd.h"
#include "kernels/dispatch.h"
#include "kernels/reduce.h"
#include "kernels/view.h"

namespace minidl {

const char* binary_op_name(BinaryOp op) {
  switch (op) {
#define MINIDL_BINARY_NAME_(name, S) \
  case BinaryOp::S:                  \
    return #name;
    MINIDL_BINARY_OPS(MINIDL_BINARY_NAME_)
#undef MINIDL_BINARY_NAME_
  }
  return "binary";
}

namespace {

// Row-major strides of `in` seen through `out` (aligned at the last dimension): 0 where `in` has
// size 1 or no dimension at all.
void broadcast_strides(const Shape& in, const Shape& out, int64_t* stride) {
  const int64_t lead = out.ndim() - in.ndim();
  int64_t s = 1;
  for (int64_t d = out.ndim() - 1; d >= 0; --d) {
    const int64_t k = d - lead;
    const int64_t size = k >= 0 ? in[k] : 1;
    stride[d] = size == 1 ? 0 : s;
    s *= size;
  }
}

BroadcastIndex index_for(const char* op, const Shape& a, const Shape& b, const Shape& out) {
  MINIDL_CHECK(out.ndim() <= BroadcastIndex::kMaxDims, op, ": at most ", BroadcastIndex::kMaxDims,
               " dimensions are supported, got ", out);
  BroadcastIndex ix;
  ix.ndim = static_cast<int32_t>(out.ndim());
  for (int64_t d = 0; d < out.ndim(); ++d) ix.shape[d] = out[d];
  broadcast_strides(a, out, ix.a_stride);
  broadcast_strides(b, out, ix.b_stride);
  return ix;
}

struct BinaryBackward : Node {
  BinaryOp op = BinaryOp::Add;
  Tensor a, b;
  BroadcastIndex ix;
  std::string name() const override {
    std::string n = binary_op_name(op);
    n[0] = static_cast<char>(n[0] - 'a' + 'A');
    return n + "Backward";
  }
  std::vector<Tensor> backward(const Tensor& dy) override {
    NoGradGuard no_grad;
    Tensor da, db;
    if (needs_input_grad(0)) da = empty_like(dy);
    if (needs_input_grad(1)) db = empty_like(dy);
    dispatch_floating(dy.dtype(), binary_op_name(op), [&](auto tag) {
      using T = decltype(tag);
      MINIDL_KERNEL(dy.device(), binary_bwd<T>)(op, ix, a.data<T>(), b.data<T>(), dy.data<T>(),
                                                da.defined() ? da.data<T>() : nullptr,
                                                db.defined() ? db.data<T>() : nullptr, dy.numel());
    });
    if (da.defined()) da = ops::sum_to(da, a.shape());
    if (db.defined()) db = ops::sum_to(db, b.shape());
    return {da, db};
  }
  void release_saved() override { a = b = Tensor(); }
};

}  // namespace

namespace ops {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const int64_t n = std::max(a.ndim(), b.ndim());
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t d = 0; d < n; ++d) {  // d counts from the last dimension
    const int64_t sa = d < a.ndim() ? a[a.ndim() - 1 - d] : 1, sb = d < b.ndim() ? b[b.ndim() - 1 - d] : 1;
    MINIDL_CHECK(sa == sb || sa == 1 || sb == 1, op, ": shapes ", a, " and ", b, " cannot be broadcast together "
                 "(dimension ", -1 - d, ": ", sa, " vs ", sb, "; sizes must be equal or one of them 1)");
    out[static_cast<size_t>(n - 1 - d)] = sa == 1 ? sb : sa;
  }
  return Shape(out);
}

Tensor sum_to(const Tensor& g, const Shape& to) {
  Tensor r = g;
  while (r.dim() > to.ndim()) r = sum(r, 0);  // the leading dimensions `to` does not have
  for (int64_t d = 0; d < to.ndim(); ++d)
    if (to[d] == 1 && r.size(d) != 1) r = sum(r, d, /*keepdim=*/true);
  MINIDL_CHECK(r.shape() == to, "sum_to: ", g.shape(), " does not broadcast from ", to);
  return r;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_same_device_dtype(name, {&a, &b});
  const Shape out = broadcast_shapes(name, a.shape(), b.shape());
  const BroadcastIndex ix = index_for(name, a.shape(), b.shape(), out);
  Tensor y = empty(out, a.options());
  dispatch_floating(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    MINIDL_KERNEL(a.device(), binary_fwd<T>)(op, ix, a.data<T>(), b.data<T>(), y.data<T>(), y.numel());
  });
  if (needs_grad({a, b})) {
    auto node = std::make_shared<BinaryBackward>();
    node->op = op;
    node->a = a.detach();
    node->b = b.detach();
    node->ix = ix;
    connect(y, node, {a, b});
  }
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Minimum, a, b); }

}  // namespace ops
}  // namespace minidl

// Front-end of the shape ops: checks, the strides each copy reads and writes with, the
// CPU-or-CUDA dispatch of the one strided copy (kernels/shape.h), and the backward nodes:
//   permute(x, p):          dx = permute(dy, p^-1)
//   narrow(x, d, s, l):     dx = zeros(x), with dy copied into elements s .. s + l - 1 of dim d
//   cat(x_0.., d):          dx_k = narrow(dy, d, offset_k, size_k)
// select, transpose, stack, unsqueeze and squeeze are made of these and ops::reshape.
#include "kernels/shape.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/autograd.h"
#include "kernels/dispatch.h"
#include "kernels/view.h"

namespace minidl {
namespace {

std::vector<int64_t> row_major_strides(const Shape& s) {
  std::vector<int64_t> st(static_cast<size_t>(s.ndim()));
  int64_t acc = 1;
  for (int64_t d = s.ndim() - 1; d >= 0; --d) st[static_cast<size_t>(d)] = acc, acc *= s[d];
  return st;
}

// dst[dst_base + <i, dst_strides>] = src[src_base + <i, src_strides>] for every index i of `shape`.
void copy(const char* op, const Shape& shape, const Tensor& src, const std::vector<int64_t>& src_strides,
          int64_t src_base, Tensor& dst, const std::vector<int64_t>& dst_strides, int64_t dst_base) {
  MINIDL_CHECK(shape.ndim() <= BroadcastIndex::kMaxDims, op, ": at most ", BroadcastIndex::kMaxDims,
               " dimensions are supported, got ", shape);
  BroadcastIndex ix;
  ix.ndim = static_cast<int32_t>(shape.ndim());
  for (int64_t d = 0; d < shape.ndim(); ++d) {
    ix.shape[d] = shape[d];
    ix.a_stride[d] = src_strides[static_cast<size_t>(d)];
    ix.b_stride[d] = dst_strides[static_cast<size_t>(d)];
  }
  dispatch_floating(src.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    MINIDL_KERNEL(src.device(), strided_copy<T>)(ix, src.data<T>(), src_base, dst.data<T>(), dst_base, shape.numel());
  });
}

int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim) {
  MINIDL_CHECK(dim >= -ndim && dim < ndim, op, ": dim ", dim, " is out of range for a tensor of ", ndim,
               " dimensions (expected [", -ndim, ", ", ndim - 1, "])");
  return dim < 0 ? dim + ndim : dim;
}

Tensor permute_raw(const Tensor& x, const std::vector<int64_t>& p) {
  std::vector<int64_t> out(p.size()), src(p.size());
  const auto xs = row_major_strides(x.shape());
  for (size_t k = 0; k < p.size(); ++k) out[k] = x.size(p[k]), src[k] = xs[static_cast<size_t>(p[k])];
  Tensor y = empty(Shape(out), x.options());
  copy("permute", y.shape(), x, src, 0, y, row_major_strides(y.shape()), 0);
  return y;
}

Tensor narrow_raw(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  std::vector<int64_t> out = x.shape().dims();
  out[static_cast<size_t>(dim)] = length;
  const auto xs = row_major_strides(x.shape());
  Tensor y = empty(Shape(out), x.options());
  copy("narrow", y.shape(), x, xs, start * xs[static_cast<size_t>(dim)], y, row_major_strides(y.shape()), 0);
  return y;
}

struct PermuteBackward : Node {
  std::vector<int64_t> inverse;
  std::string name() const override { return "PermuteBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override { return {permute_raw(dy, inverse)}; }
};

struct NarrowBackward : Node {
  Shape input;
  int64_t dim = 0, start = 0;
  std::string name() const override { return "NarrowBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = zeros(input, dy.options());
    const auto xs = row_major_strides(input);
    copy("narrow", dy.shape(), dy, row_major_strides(dy.shape()), 0, dx, xs, start * xs[static_cast<size_t>(dim)]);
    return {dx};
  }
};

struct CatBackward : Node {
  int64_t dim = 0;
  std::vector<int64_t> sizes;
  std::string name() const override { return "CatBackward"; }
  std::vector<Tensor> backward(const Tensor& dy) override {
    std::vector<Tensor> dxs(sizes.size());
    int64_t offset = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (needs_input_grad(k)) dxs[k] = narrow_raw(dy, dim, offset, sizes[k]);
      offset += sizes[k];
    }
    return dxs;
  }
};

}  // namespace

namespace ops {

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_same_device_dtype("permute", {&x});
  const int64_t n = x.dim();
  MINIDL_CHECK(static_cast<int64_t>(dims.size()) == n, "permute: ", dims.size(), " dims given for a tensor of ", n,
               " dimensions ", x.shape());
  std::vector<int64_t> p(dims.size()), inverse(dims.size(), -1);
  for (size_t k = 0; k < dims.size(); ++k) {
    p[k] = wrap_dim("permute", dims[k], n);
    MINIDL_CHECK(inverse[static_cast<size_t>(p[k])] < 0, "permute: dim ", dims[k], " appears twice");
    inverse[static_cast<size_t>(p[k])] = static_cast<int64_t>(k);
  }
  Tensor y = permute_raw(x, p);
  if (needs_grad({x})) {
    auto node = std::make_shared<PermuteBackward>();
    node->inverse = inverse;
    connect(y, node, {x});
  }
  return y;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const int64_t n = x.dim();
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[static_cast<size_t>(wrap_dim("transpose", dim0, n))], p[static_cast<size_t>(wrap_dim("transpose", dim1, n))]);
  return permute(x, p);
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  check_same_device_dtype("narrow", {&x});
  const int64_t d = wrap_dim("narrow", dim, x.dim());
  const int64_t size = x.size(d);
  if (start < 0) start += size;  // PyTorch allows a negative start
  MINIDL_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow: elements ", start, " .. ",
               start + length - 1, " of dim ", dim, " are outside its size ", size, " (shape ", x.shape(), ")");
  Tensor y = narrow_raw(x, d, start, length);
  if (needs_grad({x})) {
    auto node = std::make_shared<NarrowBackward>();
    node->input = x.shape(), node->dim = d, node->start = start;
    connect(y, node, {x});
  }
  return y;
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  const int64_t d = wrap_dim("select", dim, x.dim());
  const int64_t size = x.size(d);
  MINIDL_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for dim ", dim,
               " of size ", size);
  std::vector<int64_t> out = x.shape().dims();
  out.erase(out.begin() + d);
  return reshape(narrow(x, d, index < 0 ? index + size : index, 1), out);
}

Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  MINIDL_CHECK(!xs.empty(), "cat: no tensors given");
  const Tensor& first = xs.front();
  const int64_t n = first.dim();
  const int64_t d = wrap_dim("cat", dim, n);
  std::vector<int64_t> out = first.shape().dims(), sizes;
  out[static_cast<size_t>(d)] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    check_same_device_dtype("cat", {&first, &xs[k]});
    bool fits = xs[k].dim() == n;
    for (int64_t j = 0; fits && j < n; ++j) fits = j == d || xs[k].size(j) == first.size(j);
    MINIDL_CHECK(fits, "cat: tensor ", k, " has shape ", xs[k].shape(), " but tensor 0 has ", first.shape(),
                 "; all sizes but dim ", dim, " must match");
    sizes.push_back(xs[k].size(d));
    out[static_cast<size_t>(d)] += xs[k].size(d);
  }
  Tensor y = empty(Shape(out), first.options());
  const auto ys = row_major_strides(y.shape());
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    copy("cat", x.shape(), x, row_major_strides(x.shape()), 0, y, ys, offset * ys[static_cast<size_t>(d)]);
    offset += x.size(d);
  }
  if (needs_grad(xs)) {
    auto node = std::make_shared<CatBackward>();
    node->dim = d, node->sizes = sizes;
    connect(y, node, xs);
  }
  return y;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  const int64_t d = wrap_dim("unsqueeze", dim, x.dim() + 1);
  std::vector<int64_t> out = x.shape().dims();
  out.insert(out.begin() + d, 1);
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  const int64_t d = wrap_dim("squeeze", dim, x.dim());
  if (x.size(d) != 1) return x;  // PyTorch leaves a dimension of another size alone
  std::vector<int64_t> out = x.shape().dims();
  out.erase(out.begin() + d);
  return reshape(x, out);
}

Tensor squeeze(const Tensor& x) {
  std::vector<int64_t> out;
  for (int64_t s : x.shape()) if (s != 1) out.push_back(s);
  return reshape(x, out);
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  MINIDL_CHECK(!xs.empty(), "stack: no tensors given");
  std::vector<Tensor> parts;
  for (size_t k = 0; k < xs.size(); ++k) {
    MINIDL_CHECK(xs[k].shape() == xs.front().shape(), "stack: tensor ", k, " has shape ", xs[k].shape(),
                 " but tensor 0 has ", xs.front().shape(), "; all must be equal");
    parts.push_back(unsqueeze(xs[k], dim));
  }
  return cat(parts, dim);
}

}  // namespace ops
}  // namespace minidl

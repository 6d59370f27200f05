#include "core/tensor.h"

#include <cstring>
#include <sstream>

#include "core/autograd.h"
#include "core/convert_element.h"
#include "core/cuda_context.h"

namespace minidl {

namespace {

std::shared_ptr<TensorImpl> new_impl(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    MINIDL_CHECK(d >= 0, "negative size in shape ", shape);
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  return impl;
}

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n) {
  if (n == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, n);
    return;
  }
  cuda::copy_bytes(dst, dst_dev, src, src_dev, n);
}

// convert_element: the one conversion rule of every device (NaN and out-of-range values into
// int64 are defined there).
template <class Src, class Dst>
void convert_cpu(const Src* src, Dst* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = convert_element<Dst>(src[i]);
}

// dst[i] = (dst dtype) src[i], both on the CPU.
void convert_on_cpu(const Tensor& src, Tensor& dst) {
  const int64_t n = src.numel();
  auto with_dst = [&](auto* s) {
    switch (dst.dtype()) {
      case DType::Float32: convert_cpu(s, dst.data<float>(), n); break;
      case DType::Float64: convert_cpu(s, dst.data<double>(), n); break;
      case DType::Int64: convert_cpu(s, dst.data<int64_t>(), n); break;
    }
  };
  switch (src.dtype()) {
    case DType::Float32: with_dst(src.data<float>()); break;
    case DType::Float64: with_dst(src.data<double>()); break;
    case DType::Int64: with_dst(src.data<int64_t>()); break;
  }
}

// The gradient of to(): the same copy, backwards.
struct ToCopyBackward : Node {
  DType src_dtype;
  Device src_device;
  std::string name() const override { return "ToCopyBackward"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g.to(src_dtype).to(src_device)}; }
};

Tensor record_copy(const Tensor& src, Tensor out) {
  if (needs_grad({src})) {
    auto node = std::make_shared<ToCopyBackward>();
    node->src_dtype = src.dtype();
    node->src_device = src.device();
    connect(out, node, {src});
  }
  return out;
}

}  // namespace

void* Tensor::raw_data() const {
  const TensorImpl& t = checked();
  return static_cast<char*>(t.storage->data()) + t.offset_bytes;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor out = empty(shape(), options().device(device));
  copy_bytes(out.raw_data(), device, raw_data(), this->device(), nbytes());
  return record_copy(*this, out);
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  Tensor out = empty(shape(), options().dtype(dtype));
  if (is_cuda()) {
    cuda::convert(raw_data(), this->dtype(), out.raw_data(), dtype, numel());
  } else {
    convert_on_cpu(*this, out);
  }
  if (is_floating(dtype) && is_floating(this->dtype())) return record_copy(*this, out);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), options());
  copy_bytes(out.raw_data(), device(), raw_data(), device(), nbytes());
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(checked());
  impl->requires_grad = false;
  impl->grad.reset();
  impl->grad_fn.reset();
  return Tensor(impl);
}

void Tensor::copy_(const Tensor& src) {
  MINIDL_CHECK(src.shape() == shape(), "copy_: source shape ", src.shape(), " does not match destination shape ",
               shape());
  const Tensor s = src.dtype() == dtype() ? src : src.detach().to(dtype());
  copy_bytes(raw_data(), device(), s.raw_data(), s.device(), nbytes());
}

void Tensor::fill_(double value) {
  if (is_cuda()) {
    cuda::fill(raw_data(), dtype(), numel(), value);
    return;
  }
  const int64_t n = numel();
  switch (dtype()) {
    case DType::Float32: { float* p = data<float>(); for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(value); break; }
    case DType::Float64: { double* p = data<double>(); for (int64_t i = 0; i < n; ++i) p[i] = value; break; }
    case DType::Int64: { int64_t* p = data<int64_t>(); const int64_t v = convert_element<int64_t>(value); for (int64_t i = 0; i < n; ++i) p[i] = v; break; }
  }
}

Tensor Tensor::view(const Shape& new_shape) const {
  MINIDL_CHECK(new_shape.numel() == numel(), "view: cannot view a tensor of shape ", shape(), " (", numel(),
               " elements) as shape ", new_shape, " (", new_shape.numel(), " elements)");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->offset_bytes = checked().offset_bytes;
  impl->dtype = dtype();
  impl->shape = new_shape;
  return Tensor(impl);
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  MINIDL_CHECK(dim() >= 1 && 0 <= begin && begin <= end && end <= size(0), "slice_rows(", begin, ", ", end,
               "): out of range for shape ", shape());
  const size_t row_bytes = static_cast<size_t>(shape().prod(1, dim())) * dtype_size(dtype());
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->offset_bytes = checked().offset_bytes + static_cast<size_t>(begin) * row_bytes;
  impl->dtype = dtype();
  impl->shape = shape();
  impl->shape[0] = end - begin;
  return Tensor(impl);
}

double Tensor::item() const {
  MINIDL_CHECK(numel() == 1, "item(): expected a one-element tensor, got shape ", shape());
  return to_vector<double>()[0];
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = detach().to(Device::cpu());
  if (host.dtype() != dtype_of<T>()) host = host.to(dtype_of<T>());
  const T* p = host.data<T>();
  return std::vector<T>(p, p + numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

void Tensor::set_data(const Tensor& other) {
  TensorImpl& t = checked();
  t.storage = other.checked().storage;
  t.offset_bytes = other.checked().offset_bytes;
  t.shape = other.shape();
  t.dtype = other.dtype();
}

Tensor& Tensor::requires_grad_(bool requires) {
  MINIDL_CHECK(is_leaf(), "requires_grad_(): only leaf tensors can change requires_grad; this one (shape ",
               shape(), ") was produced by ", grad_fn()->name(), " (use detach() first)");
  MINIDL_CHECK(!requires || is_floating(dtype()), "requires_grad_(): a ", dtype(),
               " tensor cannot require grad (only float32 / float64 can)");
  checked().requires_grad = requires;
  return *this;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const { run_backward(*this, grad, retain_graph); }

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  const std::vector<double> v = to_vector<double>();
  const size_t show = 12;
  os << "tensor([";
  for (size_t i = 0; i < v.size() && i < show; ++i) os << (i ? ", " : "") << v[i];
  if (v.size() > show) os << ", ... (" << v.size() - show << " more)";
  os << "], shape=" << shape() << ", dtype=" << dtype() << ", device=" << device();
  if (grad_fn()) os << ", grad_fn=" << grad_fn()->name();
  else if (requires_grad()) os << ", requires_grad=true";
  return os.str() + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---- factories ---------------------------------------------------------------------------------

Tensor empty(const Shape& shape, TensorOptions options) {
  Tensor t(new_impl(shape, options.dtype(), options.device()));
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor full(const Shape& shape, double value, TensorOptions options) {
  Tensor t = empty(shape, TensorOptions(options).requires_grad(false));
  t.fill_(value);
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}
Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.options()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.options()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.options()); }

Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions options) {
  MINIDL_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "tensor(): ", values.size(),
               " values given for shape ", shape, " (", shape.numel(), " elements)");
  Tensor host(new_impl(shape, DType::Float64, Device::cpu()));
  std::copy(values.begin(), values.end(), host.data<double>());
  Tensor t = host.to(options.dtype()).to(options.device());
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor labels(const std::vector<int64_t>& values, Device device) {
  Tensor host(new_impl(Shape{static_cast<int64_t>(values.size())}, DType::Int64, Device::cpu()));
  std::copy(values.begin(), values.end(), host.data<int64_t>());
  return host.to(device);
}

Tensor arange(int64_t n, TensorOptions options) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return tensor(v, Shape{n}, options);
}

// ---- checks ------------------------------------------------------------------------------------

void check_dim(const Tensor& t, int64_t ndim, const char* op, const char* name, const char* layout) {
  MINIDL_CHECK(t.defined(), op, ": ", name, " is undefined");
  MINIDL_CHECK(t.dim() == ndim, op, ": ", name, " must be ", ndim, "-D ", layout, ", got shape ", t.shape());
}

void check_same_device_dtype(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    MINIDL_CHECK(is_floating(t->dtype()), op, ": expected float32 or float64 tensors, got ", t->dtype(),
                 " (shape ", t->shape(), ")");
    if (!first) {
      first = t;
      continue;
    }
    MINIDL_CHECK(t->device() == first->device(), op, ": tensors on different devices: ", first->device(),
                 " (shape ", first->shape(), ") and ", t->device(), " (shape ", t->shape(),
                 "); move them with .to(device)");
    MINIDL_CHECK(t->dtype() == first->dtype(), op, ": tensors of different dtypes: ", first->dtype(),
                 " (shape ", first->shape(), ") and ", t->dtype(), " (shape ", t->shape(), ")");
  }
}

}  // namespace minidl

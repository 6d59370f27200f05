// Tensor: a contiguous row-major (NCHW) array of float32 / float64 (or int64 labels) on one
// device, with autograd state. A Tensor is a cheap handle (a shared_ptr): copies share data.
//
//   Tensor x = minidl::randn({128, 3, 32, 32});          // float32 on the CPU
//   Tensor w = minidl::zeros({16, 3, 3, 3}, TensorOptions().requires_grad(true));
//   Tensor y = ops::conv2d(x, w, {}, ops::Conv2dFuncOptions().padding(1));
//   ops::sum(y).backward();                              // w.grad() now holds dL/dw
//
// Data moves between devices only through to(Device). Every misuse (wrong dtype, shapes that do
// not match, a CUDA tensor without a GPU) throws minidl::Error naming the values involved.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/options.h"
#include "core/shape.h"
#include "core/storage.h"

namespace minidl {

class Node;
class Tensor;

// Options for factories, chained like libtorch: TensorOptions().dtype(DType::Float64).requires_grad(true)
// (minidl's one options style, core/options.h: the setters change the object and return it.)
class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType d) : dtype_(d) {}    // NOLINT: implicit, so zeros(s, DType::Float64) reads well
  TensorOptions(Device d) : device_(d) {}  // NOLINT
  MINIDL_ARG(DType, dtype, DType::Float32)
  MINIDL_ARG(Device, device, Device::cpu())
  MINIDL_ARG(bool, requires_grad, false)
};

// What a Tensor handle points to. Shared by copies of the handle; detach() and reshape views
// make a new TensorImpl over the same Storage.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset_bytes = 0;  // where this tensor starts inside storage (views along dim 0)
  Shape shape;
  DType dtype = DType::Float32;
  // autograd
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated dL/d(this) for leaves
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (null for leaves)
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked().shape; }
  int64_t dim() const { return shape().ndim(); }
  int64_t size(int64_t d) const { return shape()[d]; }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const { return checked().dtype; }
  Device device() const { return checked().storage->device(); }
  bool is_cuda() const { return device().is_cuda(); }
  size_t nbytes() const {  // checked: numel() * 8 can exceed size_t for a shape read from a file
    size_t n = 0;
    MINIDL_CHECK(!__builtin_mul_overflow(static_cast<size_t>(numel()), dtype_size(dtype()), &n), "tensor of shape ",
                 shape(), " is too large to address (", numel(), " elements)");
    return n;
  }
  TensorOptions options() const { return TensorOptions().dtype(dtype()).device(device()); }

  // Pointer to the first element (a device pointer for CUDA tensors). Throws if T is not the dtype.
  template <class T>
  T* data() const {
    MINIDL_CHECK(dtype_of<T>() == dtype(), "data<", dtype_name(dtype_of<T>()), ">() called on a ",
                 dtype_name(dtype()), " tensor of shape ", shape());
    return static_cast<T*>(raw_data());
  }
  void* raw_data() const;

  // Copies. to() is differentiable (the gradient is copied back); the others are not.
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;            // a new leaf with its own copy of the data
  Tensor detach() const;           // same data, no autograd history, requires_grad false
  void copy_(const Tensor& src);   // in place, same shape; src may be on another device / dtype
  void fill_(double value);
  void zero_() { fill_(0.0); }
  // Shares the data with a new shape of the same numel (no autograd; see ops::reshape for that).
  Tensor view(const Shape& shape) const;
  // Rows [begin, end) along dim 0, sharing the data (no autograd).
  Tensor slice_rows(int64_t begin, int64_t end) const;

  // The single value of a one-element tensor, as double (copies from the GPU if needed).
  double item() const;
  // All values, copied to host memory and converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // Replaces the data of this tensor with other's, keeping its identity and autograd flags
  // (what Module::to(device) and load_state_dict use; like PyTorch's `param.data = ...`).
  void set_data(const Tensor& other);

  // ---- autograd -------------------------------------------------------------------------------
  bool requires_grad() const { return checked().requires_grad; }
  // Marks a leaf as a parameter to differentiate; throws on a tensor produced by an op.
  Tensor& requires_grad_(bool requires = true);
  bool is_leaf() const { return checked().grad_fn == nullptr; }
  Tensor grad() const { return Tensor(checked().grad); }
  void set_grad(const Tensor& g) { checked().grad = g.impl_; }
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  // Back-propagates from this tensor. grad defaults to 1 for a one-element tensor. Saved tensors
  // are freed as the graph is walked unless retain_graph is true.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  std::string str() const;  // "tensor([...], shape=[2, 3], dtype=float32, device=cpu)"

 private:
  TensorImpl& checked() const {
    MINIDL_CHECK(impl_ != nullptr, "operation on an undefined Tensor (default-constructed or moved-from)");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Tensors by name, in order: state dicts, checkpoints, safetensors files.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// ---- factories (random ones are in core/random.h) ----------------------------------------------
Tensor empty(const Shape& shape, TensorOptions options = {});
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
// Values in row-major order, converted to options.dtype(); values.size() must equal shape.numel().
Tensor tensor(const std::vector<double>& values, const Shape& shape, TensorOptions options = {});
// Class labels (int64) for nll_loss / cross_entropy.
Tensor labels(const std::vector<int64_t>& values, Device device = Device::cpu());
// 0, 1, ..., n-1
Tensor arange(int64_t n, TensorOptions options = {});

// ---- checks shared by the op front-ends ----------------------------------------------------------
// "conv2d: input must be 4-D (N, C, H, W), got shape [3, 32, 32]"
void check_dim(const Tensor& t, int64_t ndim, const char* op, const char* name, const char* layout);
// Throws unless every defined tensor is on the same device with the same floating dtype.
void check_same_device_dtype(const char* op, std::initializer_list<const Tensor*> tensors);

}  // namespace minidl

// nn::Module: the base of every layer and model, and its holders, shaped like libtorch's.
//
// A module is a class XxxImpl deriving from nn::Module; MINIDL_MODULE(Xxx) makes Xxx its holder
// (libtorch's TORCH_MODULE): a value that owns the module through a shared pointer, calls it with
// operator() and reaches its members with ->. Every built-in layer is used this way:
//
//   class BlockImpl : public nn::Module {
//    public:
//     explicit BlockImpl(int64_t c) {
//       conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)));
//       norm = register_module("norm", nn::BatchNorm2d(c));
//     }
//     Tensor forward(const Tensor& x) override { return ops::relu(norm(conv(x))); }
//     nn::Conv2d conv{nullptr};  // empty until the constructor registers it
//     nn::BatchNorm2d norm{nullptr};
//   };
//   MINIDL_MODULE(Block);
//
//   Block block(16);  Tensor y = block(x);  block->parameters();
//
// type_name() (summaries, printing) defaults to the class name without its namespace and without
// "Impl" ("Block"). Parameters are leaf tensors that require grad (the optimizer updates them);
// buffers are tensors the module keeps but does not train (batch norm's running statistics). Both
// appear in state_dict() under dotted names ("layer1.conv.weight"), children in registration
// order. Modules are called through operator() rather than forward(): it is where the model
// summary (layers/summary.h) observes each layer's output.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/options.h"
#include "core/tensor.h"

namespace minidl::nn {

class Module;
template <class Impl>
class ModuleHolder;

// How a layer grows the receptive field of one output pixel, measured in input pixels: a
// window of k with stride s does size += (k - 1) * jump, jump *= s (jump = input pixels between
// neighbouring outputs).
struct ReceptiveField {
  int64_t size = 1;
  int64_t jump = 1;
};

// What the summary learns from one call of one module (see layers/summary.h).
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  virtual void before(const Module& m, const Tensor& input) = 0;
  virtual void after(const Module& m, const Tensor& input, const Tensor& output) = 0;
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  // The class name shown in summaries and printing, e.g. "Conv2d": by default the dynamic type's
  // name without namespaces and without a trailing "Impl" (Conv2dImpl -> "Conv2d").
  virtual std::string type_name() const;
  // The constructor arguments, e.g. "3, 16, kernel_size=3, padding=1" (like PyTorch's extra_repr).
  virtual std::string extra_repr() const { return ""; }
  // Receptive field after this layer given the one before it (layers without a spatial window
  // keep it). Containers are handled by the summary, which follows the data.
  virtual ReceptiveField receptive_field(ReceptiveField in, const Shape& /*input_shape*/) const { return in; }

  Tensor operator()(const Tensor& x);

  // ---- structure ---------------------------------------------------------------------------------
  // Registers t as a parameter: a leaf that requires grad (its data is taken as it is).
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  // Registers a child module (a holder or a shared pointer) and returns it, e.g.
  //   conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 16, 3)));
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, const ModuleHolder<M>& holder) {
    return register_module(name, holder.ptr());
  }

  NamedTensors named_parameters(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  // A reference: Sequential::forward walks it on every call, and a copy per call was pure waste.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  int64_t num_parameters(bool trainable_only = false) const;

  // ---- modes and placement --------------------------------------------------------------------
  // Training mode (the default) vs evaluation: changes batch norm and dropout. Recursive.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Moves (or converts) every parameter and buffer in place: tensors held elsewhere (an
  // optimizer's parameter list) follow, because the Tensor handles stay the same.
  void to(Device device);
  void to(DType dtype);
  void zero_grad();

  // ---- state -----------------------------------------------------------------------------------
  // Parameters then buffers, by dotted name, in registration order.
  NamedTensors state_dict() const;
  // Copies values into this module's tensors (on their current device/dtype). Strict: every key
  // must be present with the same shape, and no key may be unknown; errors name the key and both
  // shapes.
  void load_state_dict(const NamedTensors& state);

  // Multi-line description like printing a PyTorch module.
  std::string str() const;

  // The observer notified around every operator() call on this thread (null: none).
  static ForwardObserver* observer();
  static void set_observer(ForwardObserver* o);

 protected:
  bool training_ = true;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const;
  void str_into(std::string& out, const std::string& name, int indent) const;

  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Holds a module by value (libtorch's ModuleHolder): copies share the module. Made for each
// XxxImpl by MINIDL_MODULE(Xxx).
template <class Impl>
class ModuleHolder {
 public:
  using ContainedType = Impl;

  // A default-constructed module, where Impl has a default constructor.
  template <class I = Impl, std::enable_if_t<std::is_default_constructible<I>::value, int> = 0>
  ModuleHolder() : impl_(std::make_shared<I>()) {}
  // Empty, to be assigned later (a member the constructor registers): nn::Conv2d conv{nullptr};
  ModuleHolder(std::nullptr_t) {}  // NOLINT: implicit, as libtorch's
  // An existing module (what register_module returns), or one of a derived type.
  template <class M, std::enable_if_t<std::is_base_of<Impl, M>::value, int> = 0>
  ModuleHolder(std::shared_ptr<M> module) : impl_(std::move(module)) {}  // NOLINT: implicit
  template <class M, std::enable_if_t<std::is_base_of<Impl, M>::value && !std::is_same<M, Impl>::value, int> = 0>
  ModuleHolder(const ModuleHolder<M>& other) : impl_(other.ptr()) {}  // NOLINT: implicit
  // Constructs Impl from the arguments: nn::Conv2d conv(nn::Conv2dOptions(3, 16, 3));
  template <class First, class... Rest,
            std::enable_if_t<!std::is_same<std::decay_t<First>, std::nullptr_t>::value &&
                                 !std::is_base_of<ModuleHolder, std::decay_t<First>>::value &&
                                 !std::is_convertible<First&&, std::shared_ptr<Impl>>::value,
                             int> = 0>
  explicit ModuleHolder(First&& first, Rest&&... rest)
      : impl_(std::make_shared<Impl>(std::forward<First>(first), std::forward<Rest>(rest)...)) {}

  // Calls the module (Module::operator(): the summary sees the call).
  template <class... Args>
  auto operator()(Args&&... args) const {
    return (*get())(std::forward<Args>(args)...);
  }
  Impl* operator->() const { return get(); }
  Impl& operator*() const { return *get(); }
  Impl* get() const {
    MINIDL_CHECK(impl_, "an empty module holder was used: construct it, or assign what register_module returns");
    return impl_.get();
  }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return !impl_; }
  explicit operator bool() const { return impl_ != nullptr; }
  // The module as a plain Module pointer (containers such as Sequential take these).
  operator std::shared_ptr<Module>() const { return impl_; }  // NOLINT: implicit

 private:
  std::shared_ptr<Impl> impl_;
};

// Any module, called through the Module interface: what a container or a block keeps when the
// layer's type varies (a norm that may be BatchNorm2d or GroupNorm). nn::AnyModule m = nn::ReLU();
using AnyModule = ModuleHolder<Module>;

}  // namespace minidl::nn

// MINIDL_MODULE(Name): Name is the holder of the module class NameImpl (libtorch's TORCH_MODULE).
#define MINIDL_MODULE(Name)                                             \
  class Name : public ::minidl::nn::ModuleHolder<Name##Impl> {          \
   public:                                                              \
    using ::minidl::nn::ModuleHolder<Name##Impl>::ModuleHolder;         \
  }

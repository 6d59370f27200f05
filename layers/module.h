// nn::Module: the base of every layer and model, shaped like libtorch's / PyTorch's.
//
//   class Block : public nn::Module {
//    public:
//     Block() { conv = register_module("conv", std::make_shared<nn::Conv2d>(Conv2dOptions...)); }
//     Tensor forward(const Tensor& x) override { return ops::relu((*conv)(x)); }
//     std::string type_name() const override { return "Block"; }
//     std::shared_ptr<nn::Conv2d> conv;
//   };
//
// Parameters are leaf tensors that require grad (the optimizer updates them); buffers are
// tensors the module keeps but does not train (batch norm's running statistics). Both appear
// in state_dict() under dotted names ("layer1.conv.weight"), children in registration order.
// Call modules through operator() rather than forward(): it is where the model summary
// (layers/summary.h) observes each layer's output.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace minidl::nn {

class Module;

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
  // The class name shown in summaries and printing, e.g. "Conv2d".
  virtual std::string type_name() const = 0;
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
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
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

}  // namespace minidl::nn

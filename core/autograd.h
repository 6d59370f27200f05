// Reverse-mode automatic differentiation.
//
// THE RULE: backward kernels write their results with `=` (they never accumulate). The engine
// owns every `+=`: where a tensor feeds several ops (fan-out, e.g. a skip connection) it sums
// the incoming gradients, and it accumulates into param.grad() across backward calls until the
// optimizer's zero_grad(). It adds with its own code (autograd.cpp, and core/cuda_accumulate.cu
// on CUDA): core uses nothing from kernels/ or anything above it.
//
// How it works. An op whose inputs require grad (and grad mode is on) creates a named node, e.g.
// BatchNormBackward, that saves what its backward needs and points at its inputs through edges:
// to the node that produced the input, or to the input itself when it is a leaf (a parameter).
// The output tensor holds the node as its grad_fn. Tensor::backward() counts, for every node
// reachable from the output, how many edges point at it (an iterative walk: ResNets are deep,
// recursion is not an option); it then runs a node once all its consumers have delivered their
// gradients (Kahn's topological order), summing the gradients that arrive from several consumers.
//
// Ownership. The output owns its node, the node owns its inputs' nodes. A node never owns the
// Tensor it produced (that would be a shared_ptr cycle and a leak): to save an op's output for
// backward (softmax does), save output.detach(), which shares the data but not the node.
#pragma once
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl {

// Where a gradient goes: to the node that produced an input, or into a leaf's .grad.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<TensorImpl> leaf;
  Shape shape;  // the input's shape: the engine checks every gradient against it
  bool valid() const { return node || leaf; }
};

class Node {
 public:
  virtual ~Node();  // iterative: destroying a 100,000-node chain must not overflow the stack
  // The struct name, e.g. "Conv2dBackward": what graph printing shows.
  virtual std::string name() const = 0;
  // dL/d(output) -> dL/d(input_i) for every input in the order given to connect(). An entry may
  // be left undefined where needs_input_grad(i) is false.
  virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
  // Drops the saved tensors after backward ran (unless the graph is retained).
  virtual void release_saved() {}

  bool needs_input_grad(size_t i) const { return i < next_.size() && next_[i].valid(); }
  const std::vector<Edge>& next_edges() const { return next_; }

 private:
  friend void connect(Tensor& output, const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs);
  friend void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);
  std::vector<Edge> next_;
  bool released_ = false;
};

// Grad mode: when off (inside a NoGradGuard), ops record no nodes.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and some defined input requires grad: the op must record a node.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);  // for ops with a variable number of inputs (cat)

// Makes node the grad_fn of output, with one edge per input (undefined inputs and inputs that do
// not require grad get an empty edge). Marks output as requiring grad.
void connect(Tensor& output, const std::shared_ptr<Node>& node, std::initializer_list<Tensor> inputs);
void connect(Tensor& output, const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs);

// The engine behind Tensor::backward().
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

// One line per node reachable from root, in the order backward runs them, e.g.
//   LogSoftmaxBackward <- [Conv2dBackward]
std::string graph_str(const Tensor& root);

}  // namespace minidl

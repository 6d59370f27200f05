#include "core/autograd.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "core/cuda_context.h"
#include "core/parallel.h"

namespace minidl {

namespace {
thread_local bool g_grad_enabled = true;
}  // namespace

Node::~Node() {
  // Take ownership of the nodes only we keep alive and destroy them one by one, instead of
  // letting each destructor run the next one recursively.
  std::vector<std::shared_ptr<Node>> doomed;
  auto take = [&](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.node && e.node.use_count() == 1) doomed.push_back(std::move(e.node));
  };
  take(next_);
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    take(n->next_);
  }  // n dies here with no owned children left
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool needs_grad(std::initializer_list<Tensor> inputs) { return needs_grad(std::vector<Tensor>(inputs)); }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void connect(Tensor& output, const std::shared_ptr<Node>& node, std::initializer_list<Tensor> inputs) {
  connect(output, node, std::vector<Tensor>(inputs));
}

void connect(Tensor& output, const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs) {
  node->next_.clear();
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      e.shape = t.shape();
      if (t.grad_fn()) e.node = t.grad_fn();
      else e.leaf = t.impl_ptr();
    }
    node->next_.push_back(std::move(e));
  }
  output.impl()->grad_fn = node;
  output.impl()->requires_grad = true;
}

namespace {

// The engine's own accumulation (THE RULE in autograd.h): y = a + b elementwise, on a's device.
// Core code, so the engine needs no op family (kernels/ sits above core/).
void add_into(const Tensor& a, const Tensor& b, Tensor& y) {
  MINIDL_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype() && a.device() == b.device(),
               "autograd: cannot add a gradient of shape ", b.shape(), " (", b.dtype(), ", ", b.device(),
               ") to one of shape ", a.shape(), " (", a.dtype(), ", ", a.device(), ") (internal error)");
  const int64_t n = a.numel();
  if (a.is_cuda()) {
    cuda::add(a.raw_data(), b.raw_data(), y.raw_data(), a.dtype(), n);
    return;
  }
  const bool split = parallel_pays(stream_us(3 * static_cast<int64_t>(a.nbytes())));
  auto loop = [&](auto* out, const auto* pa, const auto* pb) {
#pragma omp parallel for simd if (parallel : split)
    for (int64_t i = 0; i < n; ++i) out[i] = pa[i] + pb[i];
  };
  switch (a.dtype()) {
    case DType::Float32: loop(y.data<float>(), a.data<float>(), b.data<float>()); break;
    case DType::Float64: loop(y.data<double>(), a.data<double>(), b.data<double>()); break;
    case DType::Int64: MINIDL_FAIL("autograd: gradients are float32 or float64, got int64 (internal error)");
  }
}

// A copy of a gradient for a leaf's .grad. On the CPU a large one is copied by all threads: one
// core's memcpy does not reach the memory bandwidth (the two 12.6 MB leaf gradients of an add on
// [128, 24, 32, 32] took 2.5 ms that way).
Tensor copy_of(const Tensor& g) {
  if (g.is_cuda()) return g.clone();
  Tensor out = empty(g.shape(), g.options());
  const auto* src = static_cast<const char*>(g.raw_data());
  auto* dst = static_cast<char*>(out.raw_data());
  const int64_t n = static_cast<int64_t>(g.nbytes()), block = int64_t(1) << 16, blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(static) if (parallel_pays(stream_us(2 * n)))
  for (int64_t b = 0; b < blocks; ++b)
    std::memcpy(dst + b * block, src + b * block, static_cast<size_t>(std::min(block, n - b * block)));
  return out;
}

// Leaves own their .grad exclusively. The first gradient is adopted when nothing else can see it
// (its only handle is the one passed in and no view shares its memory), else copied: a backward
// may return a tensor it shares, e.g. AddBackward passes grad_output to both inputs. Later
// gradients are added in place.
void accumulate_into_leaf(TensorImpl& leaf, Tensor g) {
  if (!leaf.grad) {
    const bool exclusive = g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1;
    leaf.grad = exclusive ? g.impl_ptr() : copy_of(g).impl_ptr();
  } else {
    Tensor acc(leaf.grad);
    add_into(acc, g, acc);
  }
}

// Every node reachable from root, each with the number of edges that point at it.
std::unordered_map<Node*, int> count_dependencies(Node* root) {
  std::unordered_map<Node*, int> deps{{root, 0}};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.node) continue;
      auto [it, inserted] = deps.try_emplace(e.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(e.node.get());
    }
  }
  return deps;
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  MINIDL_CHECK(root.requires_grad(),
               "backward() on a tensor that does not require grad (shape ", root.shape(),
               "): no input of the computation had requires_grad set, or it ran under NoGradGuard");
  Tensor g = grad;
  if (!g.defined()) {
    MINIDL_CHECK(root.numel() == 1, "backward() without a gradient needs a one-element output, got shape ",
                 root.shape(), "; pass the gradient explicitly");
    g = ones_like(root);
  }
  MINIDL_CHECK(g.shape() == root.shape(), "backward(): gradient shape ", g.shape(),
               " does not match the output shape ", root.shape());
  NoGradGuard no_grad;  // gradients are plain values: no graph of the backward pass

  if (root.is_leaf()) {
    accumulate_into_leaf(*root.impl(), g);
    return;
  }
  std::unordered_map<Node*, int> deps = count_dependencies(root.grad_fn().get());
  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), g}};
  std::vector<std::shared_ptr<Node>> ready{root.grad_fn()};

  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Tensor grad_out = std::move(pending[node.get()]);
    pending.erase(node.get());

    std::vector<Tensor> grad_in;
    if (grad_out.defined()) {  // undefined: no consumer produced a gradient for this node
      MINIDL_CHECK(!node->released_, node->name(),
                   ": backward through the graph a second time, but its saved tensors were freed "
                   "by the first backward; pass retain_graph=true to the first backward() to keep them");
      grad_in = node->backward(grad_out);
      MINIDL_CHECK(grad_in.size() == node->next_.size(), node->name(), " returned ", grad_in.size(),
                   " gradients for ", node->next_.size(), " inputs (internal error)");
      if (!retain_graph) {
        node->release_saved();
        node->released_ = true;
      }
    }
    for (size_t i = 0; i < node->next_.size(); ++i) {
      const Edge& e = node->next_[i];
      const bool has_grad = i < grad_in.size() && grad_in[i].defined();
      if (has_grad && e.valid()) {
        MINIDL_CHECK(grad_in[i].shape() == e.shape, node->name(), " returned a gradient of shape ",
                     grad_in[i].shape(), " for input ", i, " of shape ", e.shape, " (internal error)");
      }
      if (e.leaf) {
        if (has_grad) accumulate_into_leaf(*e.leaf, std::move(grad_in[i]));
      } else if (e.node) {
        Tensor& slot = pending[e.node.get()];
        if (has_grad) {
          if (slot.defined()) {  // a new tensor: slot may share its data with another edge's gradient
            Tensor sum = empty_like(slot);
            add_into(slot, grad_in[i], sum);
            slot = sum;
          } else {
            slot = grad_in[i];
          }
        }
        if (--deps[e.node.get()] == 0) ready.push_back(e.node);
      }
    }
  }
}

std::string graph_str(const Tensor& root) {
  if (!root.defined() || !root.grad_fn()) return "(leaf: no graph)\n";
  // Same walk as backward, without running anything.
  std::unordered_map<Node*, int> deps = count_dependencies(root.grad_fn().get());
  std::vector<Node*> ready{root.grad_fn().get()};
  std::ostringstream os;
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    os << n->name() << " <- [";
    const char* sep = "";
    for (const Edge& e : n->next_edges()) {
      os << sep << (e.node ? e.node->name() : e.leaf ? "leaf " + Shape(e.shape).str() : "-");
      sep = ", ";
      if (e.node && --deps[e.node.get()] == 0) ready.push_back(e.node.get());
    }
    os << "]\n";
  }
  return os.str();
}

}  // namespace minidl

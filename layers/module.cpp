#include "layers/module.h"

#include <cstdlib>
#include <set>
#include <typeinfo>

#if defined(__GNUG__)
#include <cxxabi.h>
#endif

#include "core/autograd.h"

namespace minidl::nn {

namespace {
thread_local ForwardObserver* g_observer = nullptr;

void check_name(const std::string& name, const std::string& what) {
  MINIDL_CHECK(!name.empty() && name.find('.') == std::string::npos,
               "register_", what, ": invalid name '", name, "' (non-empty, no dots)");
}
}  // namespace

std::string Module::type_name() const {
  const char* mangled = typeid(*this).name();
  std::string name = mangled;
#if defined(__GNUG__)
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status == 0 && demangled) name = demangled;
  std::free(demangled);
#endif
  // Drop the namespaces of the class itself ("minidl::nn::Conv2dImpl"; not those inside template
  // arguments), then "Impl".
  const size_t args = name.find('<');
  const size_t scope = name.rfind("::", args);
  if (scope != std::string::npos) name = name.substr(scope + 2);
  const std::string impl = "Impl";
  if (name.size() > impl.size() && name.compare(name.size() - impl.size(), impl.size(), impl) == 0)
    name.resize(name.size() - impl.size());
  return name;
}

ForwardObserver* Module::observer() { return g_observer; }
void Module::set_observer(ForwardObserver* o) { g_observer = o; }

Tensor Module::operator()(const Tensor& x) {
  ForwardObserver* obs = g_observer;
  if (!obs) return forward(x);
  obs->before(*this, x);
  Tensor y = forward(x);
  obs->after(*this, x, y);
  return y;
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_name(name, "parameter");
  MINIDL_CHECK(t.is_leaf(), "register_parameter('", name, "'): a parameter must be a leaf tensor (use detach())");
  t.requires_grad_(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "buffer");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "module");
  MINIDL_CHECK(m != nullptr, "register_module('", name, "'): null module");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const {
  for (const auto& [name, t] : params ? params_ : buffers_) out.emplace_back(prefix + name, t);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", true, params, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, out);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

int64_t Module::num_parameters(bool trainable_only) const {
  int64_t n = 0;
  for (const Tensor& p : parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [name, t] : named_parameters()) Tensor(t).set_data(t.detach().to(device));
  for (auto& [name, t] : named_buffers()) Tensor(t).set_data(t.to(device));
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for (auto& [name, t] : named_parameters()) Tensor(t).set_data(t.detach().to(dtype));
  for (auto& [name, t] : named_buffers())
    if (is_floating(t.dtype())) Tensor(t).set_data(t.to(dtype));
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.set_grad(Tensor());
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& kv : named_buffers()) out.push_back(kv);
  return out;
}

void Module::load_state_dict(const NamedTensors& state) {
  NoGradGuard no_grad;
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) given[name] = &t;
  std::set<std::string> used;
  for (auto& [name, t] : state_dict()) {
    auto it = given.find(name);
    MINIDL_CHECK(it != given.end(), "load_state_dict: missing key '", name, "' (expected shape ", t.shape(), ")");
    MINIDL_CHECK(it->second->shape() == t.shape(), "load_state_dict: shape mismatch for '", name, "': the state has ",
                 it->second->shape(), ", the model expects ", t.shape());
    Tensor(t).copy_(it->second->detach());
    used.insert(name);
  }
  for (const auto& [name, t] : state)
    MINIDL_CHECK(used.count(name), "load_state_dict: unexpected key '", name, "' (shape ", t.shape(),
                 ") that the model does not have");
}

void Module::str_into(std::string& out, const std::string& name, int indent) const {
  const std::string pad(static_cast<size_t>(indent), ' ');
  out += pad + (name.empty() ? "" : "(" + name + "): ") + type_name() + "(" + extra_repr();
  if (children_.empty()) {
    out += ")\n";
    return;
  }
  out += "\n";
  for (const auto& [n, child] : children_) child->str_into(out, n, indent + 2);
  out += pad + ")\n";
}

std::string Module::str() const {
  std::string out;
  str_into(out, "", 0);
  return out;
}

}  // namespace minidl::nn

#include "optim/optimizer.h"

namespace minidl::optim {

Optimizer::Optimizer(std::vector<Tensor> params, double lr)
    : state_(params.size()), steps_(params.size(), 0), params_(std::move(params)), lr_(lr) {
  MINIDL_CHECK(!params_.empty(), "optimizer: empty parameter list");
  MINIDL_CHECK(lr >= 0.0, "optimizer: learning rate must be >= 0, got ", lr);
  for (size_t i = 0; i < params_.size(); ++i)
    MINIDL_CHECK(params_[i].defined() && params_[i].requires_grad() && params_[i].is_leaf(), "optimizer: parameter ",
                 i, " is not a leaf that requires grad");
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.set_grad(Tensor());
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState s;
  s.scalars["lr"] = lr_;
  s.scalars["momentum"] = momentum();
  for (size_t i = 0; i < params_.size(); ++i) {
    s.scalars["state." + std::to_string(i) + ".step"] = static_cast<double>(steps_[i]);
    for (const auto& [name, t] : state_[i])
      if (t.defined()) s.tensors.emplace_back("state." + std::to_string(i) + "." + name, t);
  }
  return s;
}

void Optimizer::load_state_dict(const OptimizerState& s) {
  auto scalar = [&](const std::string& key) {
    auto it = s.scalars.find(key);
    MINIDL_CHECK(it != s.scalars.end(), name(), " load_state_dict: missing scalar '", key, "'");
    return it->second;
  };
  lr_ = scalar("lr");
  set_momentum(scalar("momentum"));
  for (size_t i = 0; i < params_.size(); ++i) {
    steps_[i] = static_cast<int64_t>(scalar("state." + std::to_string(i) + ".step"));
    state_[i].clear();
  }
  for (const auto& [key, t] : s.tensors) {
    // "state.<i>.<name>"
    const size_t dot = key.find('.', 6);
    MINIDL_CHECK(key.rfind("state.", 0) == 0 && dot != std::string::npos, name(),
                 " load_state_dict: unexpected key '", key, "'");
    // The index must be all digits: std::stoul alone would throw a bare "stoul" for "state.x.m".
    const std::string index = key.substr(6, dot - 6);
    MINIDL_CHECK(!index.empty() && index.size() <= 9 && index.find_first_not_of("0123456789") == std::string::npos,
                 name(), " load_state_dict: key '", key, "': '", index, "' is not a parameter index");
    const size_t i = std::stoul(index);
    MINIDL_CHECK(i < params_.size(), name(), " load_state_dict: '", key, "' refers to parameter ", i, " but there are ",
                 params_.size());
    MINIDL_CHECK(t.shape() == params_[i].shape(), name(), " load_state_dict: '", key, "' has shape ", t.shape(),
                 " but parameter ", i, " has shape ", params_[i].shape());
    state_[i][key.substr(dot + 1)] = t.detach().to(params_[i].dtype()).to(params_[i].device()).clone();
  }
}

}  // namespace minidl::optim

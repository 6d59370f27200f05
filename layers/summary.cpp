#include "layers/summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "core/autograd.h"

namespace minidl::nn {
namespace {

class SummaryObserver : public ForwardObserver {
 public:
  SummaryObserver(Summary& s, const std::unordered_map<const Module*, std::string>& names) : s_(s), names_(names) {}

  void before(const Module& m, const Tensor& /*input*/) override {
    SummaryRow row;
    row.depth = static_cast<int>(stack_.size());
    row.type = m.type_name();
    auto it = names_.find(&m);
    row.name = it == names_.end() ? "" : it->second;
    row.leaf = m.named_children().empty();
    s_.rows.push_back(row);
    stack_.push_back({s_.rows.size() - 1, ReceptiveField{}});
  }

  void after(const Module& m, const Tensor& input, const Tensor& output) override {
    Frame frame = stack_.back();
    stack_.pop_back();
    SummaryRow& row = s_.rows[frame.row];
    row.output = output.shape();
    ReceptiveField rf;
    if (row.leaf) {
      rf = m.receptive_field(lookup(input), input.shape());
      const int64_t batch = output.dim() > 0 ? output.size(0) : 1;
      for (const Tensor& p : m.parameters(false)) row.params += p.numel();
      // torchinfo's convention (see summary.h)
      const int64_t pixels = output.dim() == 4 ? output.size(2) * output.size(3) : 1;
      row.mult_adds = row.type == "Conv2d" ? row.params * pixels * batch : row.params * batch;
      if (row.params > 0) s_.forward_backward_mb += 2.0 * static_cast<double>(output.numel()) * 4 / 1e6;
      s_.total_mult_adds += row.mult_adds;
      last_ = rf;
    } else {
      // A container's output may come from a functional op (an addition): the deepest branch wins.
      rf = known_.count(output.impl()) ? known_[output.impl()].second : frame.widest;
    }
    row.receptive_field = rf.size;
    known_[output.impl()] = {output, rf};
    if (!stack_.empty() && rf.size > stack_.back().widest.size) stack_.back().widest = rf;
  }

 private:
  struct Frame {
    size_t row;
    ReceptiveField widest;  // the largest receptive field seen inside this call
  };
  // The receptive field of a layer's input: known if a module produced it, else (a functional op
  // such as relu between modules) the last layer's.
  ReceptiveField lookup(const Tensor& t) {
    auto it = known_.find(t.impl());
    return it != known_.end() ? it->second.second : last_;
  }

  Summary& s_;
  const std::unordered_map<const Module*, std::string>& names_;
  std::vector<Frame> stack_;
  // Holding the Tensor keeps its address from being reused by a later tensor during the pass.
  std::unordered_map<const TensorImpl*, std::pair<Tensor, ReceptiveField>> known_;
  ReceptiveField last_;
};

void collect_names(const Module& m, std::unordered_map<const Module*, std::string>& names) {
  for (const auto& [name, child] : m.named_children()) {
    names[child.get()] = name;
    collect_names(*child, names);
  }
}

// Columns are counted in characters, not bytes: the tree's box-drawing characters (├ │ └) are
// three bytes each in UTF-8, and counting bytes shifted the next column left on those rows.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count every byte but UTF-8 continuation bytes
  return n;
}
std::string pad_right(const std::string& s, size_t w) {
  const size_t n = display_width(s);
  return n >= w ? s + " " : s + std::string(w - n, ' ');
}
std::string pad_left(const std::string& s, size_t w) {
  const size_t n = display_width(s);
  return n >= w ? " " + s : std::string(w - n, ' ') + s;
}

std::string tree_prefix(int depth) {
  if (depth == 0) return "";
  if (depth == 1) return "├─";
  std::string p;
  for (int d = 1; d < depth; ++d) p += "│    ";
  return p + "└─";
}

std::string mb(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

}  // namespace

std::string with_commas(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (v < 0 ? "-" : "") + out;
}

Summary summarize(Module& model, const std::string& model_name, const Shape& input_shape, Device device) {
  Summary s;
  s.input_shape = input_shape;
  std::unordered_map<const Module*, std::string> names{{&model, model_name}};
  collect_names(model, names);
  SummaryObserver observer(s, names);
  const bool was_training = model.is_training();
  model.eval();  // no batch statistics, no dropout, running statistics untouched
  {
    NoGradGuard no_grad;
    ForwardObserver* previous = Module::observer();
    Module::set_observer(&observer);
    try {
      model(zeros(input_shape, TensorOptions().device(device)));
    } catch (...) {
      Module::set_observer(previous);
      model.train(was_training);
      throw;
    }
    Module::set_observer(previous);
  }
  model.train(was_training);
  for (const Tensor& p : model.parameters()) {
    s.total_params += p.numel();
    if (p.requires_grad()) s.trainable_params += p.numel();
  }
  s.input_mb = static_cast<double>(input_shape.numel()) * 4 / 1e6;
  s.params_mb = static_cast<double>(s.total_params) * 4 / 1e6;
  return s;
}

std::string Summary::str() const {
  const size_t w_name = 44, w_shape = 22, w_params = 12, w_madds = 16, w_rf = 6;
  const std::string rule(w_name + w_shape + w_params + w_madds + w_rf + 1, '=');
  std::string out = rule + "\n" + pad_right("Layer (type (var_name))", w_name) + pad_right("Output Shape", w_shape) +
                    pad_left("Param #", w_params) + pad_left("Mult-Adds", w_madds) + pad_left("RF", w_rf) + "\n" +
                    rule + "\n";
  for (const SummaryRow& r : rows) {
    const bool show = r.leaf;  // containers show "--", like torchinfo
    out += pad_right(tree_prefix(r.depth) + r.type + " (" + r.name + ")", w_name) + pad_right(r.output.str(), w_shape) +
           pad_left(show && r.params ? with_commas(r.params) : "--", w_params) +
           pad_left(show && r.mult_adds ? with_commas(r.mult_adds) : "--", w_madds) +
           pad_left(std::to_string(r.receptive_field), w_rf) + "\n";
  }
  char madds[32];
  std::snprintf(madds, sizeof madds, "%.2f", static_cast<double>(total_mult_adds) / 1e6);
  out += rule + "\n";
  out += "Total params: " + with_commas(total_params) + "\n";
  out += "Trainable params: " + with_commas(trainable_params) + "\n";
  out += "Non-trainable params: " + with_commas(total_params - trainable_params) + "\n";
  out += std::string("Total mult-adds (M): ") + madds + "\n";
  out += rule + "\n";
  out += "Input size (MB): " + mb(input_mb) + "\n";
  out += "Forward/backward pass size (MB): " + mb(forward_backward_mb) + "\n";
  out += "Params size (MB): " + mb(params_mb) + "\n";
  out += "Estimated Total Size (MB): " + mb(total_mb()) + "\n";
  out += rule + "\n";
  return out;
}

}  // namespace minidl::nn

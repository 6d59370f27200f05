#include "layers/models/zoo.h"

namespace minidl::models {

const std::vector<ModelInfo>& model_zoo() {
  static const std::vector<ModelInfo> zoo = {
      {"minidl50k", "47,890 params: minidl's own; full 3x3 residual blocks at 32x32, depthwise-separable blocks after, 24-48-80 channels", 4, 0.0,
       {24, 48, 80}, &minidl50k},
      {"skipnet48k", "48,136 params: 8 skip blocks (8-16-32 channels), global average pool, 1x1 classifier", 4, 0.05,
       {8, 16, 32}, &skipnet48k},
      {"convnet39k", "39,056 params: conv-relu-norm stacks, 1x1 transitions, max pools, 5x5 average pool", 4, 0.0,
       {16, 32}, &convnet39k},
      {"gapnet39k", "39,490 params: 10-40 channel conv-relu-norm-dropout stacks shrinking to 1x1", 5, 0.05,
       {10, 20, 30, 40}, &gapnet39k},
      {"c10net48k", "48,178 params: C1 C2 c3 P1 C3 C4 C5 c6 P2 C7 C8 C9 GAP C10 with biases and Dropout2d", 4, 0.05,
       {16, 32}, &c10net48k},
      {"resnet9", "6,573,130 params: the custom ResNet (prep, 3 layers, 2 residual blocks, 64-512 channels)", 32, 0.0,
       {64, 128, 256, 512}, &resnet9},
  };
  return zoo;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : model_zoo()) names.push_back(m.name);
  return names;
}

const ModelInfo& model_info(const std::string& name) {
  for (const auto& m : model_zoo())
    if (m.name == name) return m;
  std::string known;
  for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  MINIDL_FAIL("unknown model '", name, "': expected one of ", known);
}

nn::AnyModule make_model(const std::string& name, ModelOptions o) {
  const ModelInfo& info = model_info(name);
  if (o.groups() <= 0) o.groups(info.default_groups);
  if (o.dropout() < 0) o.dropout(info.default_dropout);
  MINIDL_CHECK(o.dropout() <= 1.0, name, ": dropout must be in [0, 1], got ", o.dropout());
  // Reference architectures are kept exactly as published; only minidl's own model has the option.
  MINIDL_CHECK(!o.weight_standardization() || name == "minidl50k", name, ": weight standardization is available for "
               "minidl50k only (the reference models are kept as published)");
  MINIDL_CHECK(o.width() == 0 || name == "resnet9", name, ": width ", o.width(), " given, but only resnet9 has a "
               "width option (the other reference models are kept as published)");
  MINIDL_CHECK(o.width() >= 0, name, ": width must be positive (or 0 for the published 64), got ", o.width());
  std::vector<int64_t> widths = info.norm_widths;  // as built: resnet9's scale with its width
  if (o.width() > 0)
    for (int64_t& w : widths) w = w / info.norm_widths.front() * o.width();
  if (o.norm() == nn::NormKind::Group) {
    for (int64_t w : widths) {
      if (w % o.groups() == 0) continue;
      std::string list;
      for (int64_t v : widths) list += (list.empty() ? "" : ", ") + std::to_string(v);
      MINIDL_FAIL(name, ": group norm with ", o.groups(), " groups does not divide the ", w,
                  "-channel layers (normalized widths: ", list, "; default groups: ", info.default_groups, ")");
    }
  }
  return info.build(o);
}

}  // namespace minidl::models

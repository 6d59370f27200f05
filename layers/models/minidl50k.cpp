// minidl50k: minidl's own sub-50k-parameter CIFAR-10 model (EXPLORATION VERSION: variants chosen by
// MINIDL50K_VARIANT while the design is measured; the final file keeps one).
#include <cstdlib>

#include "layers/models/blocks.h"

namespace minidl::models {
namespace {
using namespace blocks;

// relu(norm2(conv2(relu(norm1(conv1(x))))) + shortcut(x)); conv2 may be depthwise-separable.
class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride, bool separable2, const ModelOptions& o) {
    conv1 = register_module("conv1", conv(in, out, 3, 1, false, stride));
    norm1 = register_module("norm1", norm(o, out));
    if (separable2) {
      conv2 = register_module("conv2", seq({std::make_shared<nn::Conv2d>(nn::Conv2dOptions(out, out, 3).padding(1).groups(out).bias(false)),
                                            conv(out, out, 1, 0)}));
    } else {
      conv2 = register_module("conv2", conv(out, out, 3, 1));
    }
    norm2 = register_module("norm2", norm(o, out));
    if (in != out || stride != 1)
      shortcut = register_module("shortcut", seq({conv(in, out, 1, 0, false, stride), norm(o, out)}));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = ops::relu((*norm1)((*conv1)(x)));
    h = (*norm2)((*conv2)(h));
    return ops::relu(ops::add(h, shortcut ? (*shortcut)(x) : x));
  }
  std::string type_name() const override { return "BasicBlock"; }

 private:
  ModulePtr conv1, norm1, conv2, norm2, shortcut;
};

}  // namespace

std::shared_ptr<nn::Module> minidl50k(const ModelOptions& o) {
  const char* v = std::getenv("MINIDL50K_VARIANT");
  const std::string variant = v ? v : "A";
  auto net = std::make_shared<nn::Sequential>();
  if (variant == "A") {  // ResNet-8 16-32-40
    net->register_module("stem", seq({conv(3, 16, 3, 1), norm(o, 16), relu()}));
    net->register_module("stage1", std::make_shared<BasicBlock>(16, 16, 1, false, o));
    net->register_module("stage2", std::make_shared<BasicBlock>(16, 32, 2, false, o));
    net->register_module("stage3", std::make_shared<BasicBlock>(32, 40, 2, false, o));
    net->register_module("head", seq({std::make_shared<nn::AdaptiveAvgPool2d>(1), flatten(), std::make_shared<nn::Linear>(40, 10)}));
  } else if (variant == "B") {  // ResNet-8 16-32-64 with a separable second conv in stage 3
    net->register_module("stem", seq({conv(3, 16, 3, 1), norm(o, 16), relu()}));
    net->register_module("stage1", std::make_shared<BasicBlock>(16, 16, 1, false, o));
    net->register_module("stage2", std::make_shared<BasicBlock>(16, 32, 2, false, o));
    net->register_module("stage3", std::make_shared<BasicBlock>(32, 64, 2, true, o));
    net->register_module("head", seq({std::make_shared<nn::AdaptiveAvgPool2d>(1), flatten(), std::make_shared<nn::Linear>(64, 10)}));
  } else if (variant == "C") {  // wider stem at 32x32 (24), 24-32-48 with separable second convs in 2 and 3
    net->register_module("stem", seq({conv(3, 24, 3, 1), norm(o, 24), relu()}));
    net->register_module("stage1", std::make_shared<BasicBlock>(24, 24, 1, true, o));
    net->register_module("stage2", std::make_shared<BasicBlock>(24, 48, 2, true, o));
    net->register_module("stage3", std::make_shared<BasicBlock>(48, 64, 2, true, o));
    net->register_module("head", seq({std::make_shared<nn::AdaptiveAvgPool2d>(1), flatten(), std::make_shared<nn::Linear>(64, 10)}));
  }
  return net;
}

}  // namespace minidl::models

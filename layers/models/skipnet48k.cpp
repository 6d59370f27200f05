// skipnet48k (reference project 000): 48,136 parameters, 982.64M mult-adds at batch 128.
//   conv1  3->8 conv, norm, Dropout2d, ReLU                       32x32
//   conv2  SkipBlock 8->8                                         32x32
//   tran1  SkipBlock 8->16, stride 2, 1x1 downsampler             16x16
//   conv3..conv5  SkipBlock 16->16                                16x16
//   tran2  SkipBlock 16->16, stride 2, 1x1 downsampler            8x8
//   conv6, conv7  SkipBlock 16->16                                8x8
//   conv8  SkipBlock 16->32, 1x1 downsampler                      8x8
//   tran3  global average pool, 1x1 conv 32->10, flatten, log-softmax
// A SkipBlock is  relu(drop2(norm2(conv2(relu(drop1(norm1(conv1(x))))))) + shortcut(x))  with
// 3x3 convs without bias; the shortcut is x itself or a strided 1x1 conv (the downsampler).
#include "layers/models/blocks.h"

namespace minidl::models {
namespace {
using namespace blocks;

class SkipBlockImpl : public nn::Module {
 public:
  SkipBlockImpl(int64_t in, int64_t out, int64_t stride, const ModelOptions& o) {
    conv1 = register_module("conv1", conv(in, out, 3, 1, false, stride));
    norm1 = register_module("norm1", norm(o, out));
    drop1 = register_module("drop1", dropout2d(o.dropout()));
    conv2 = register_module("conv2", conv(out, out, 3, 1));
    norm2 = register_module("norm2", norm(o, out));
    drop2 = register_module("drop2", dropout2d(o.dropout()));
    if (in != out || stride != 1) downsampler = register_module("downsampler", conv(in, out, 1, 0, false, stride));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = ops::relu(drop1(norm1(conv1(x))));
    h = drop2(norm2(conv2(h)));
    return ops::relu(ops::add(h, downsampler ? downsampler(x) : x));
  }

 private:
  AnyModule conv1{nullptr}, norm1{nullptr}, drop1{nullptr}, conv2{nullptr}, norm2{nullptr}, drop2{nullptr},
      downsampler{nullptr};
};
MINIDL_MODULE(SkipBlock);

}  // namespace

std::shared_ptr<nn::Module> skipnet48k(const ModelOptions& o) {
  nn::Sequential net;
  auto block = [&](const char* name, int64_t in, int64_t out, int64_t stride) {
    net->register_module(name, SkipBlock(in, out, stride, o));
  };
  net->register_module("conv1", seq({conv(3, 8, 3, 1), norm(o, 8), dropout2d(o.dropout()), relu()}));
  block("conv2", 8, 8, 1);
  block("tran1", 8, 16, 2);
  block("conv3", 16, 16, 1);
  block("conv4", 16, 16, 1);
  block("conv5", 16, 16, 1);
  block("tran2", 16, 16, 2);
  block("conv6", 16, 16, 1);
  block("conv7", 16, 16, 1);
  block("conv8", 16, 32, 1);
  net->register_module("tran3", seq({nn::AdaptiveAvgPool2d(1), conv(32, 10, 1, 0), flatten(), log_softmax()}));
  return net.ptr();
}

}  // namespace minidl::models

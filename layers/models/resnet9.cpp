// resnet9 (reference project 004): the custom ResNet, 6,573,130 parameters.
//   prep    3x3 conv 3->64, ReLU, norm, Dropout                                 32x32
//   layer1  3x3 conv 64->128, max pool 2, norm, ReLU                            16x16
//   res1    x + (conv 128->128, norm, ReLU, conv 128->128, norm, ReLU)(x)
//   layer2  3x3 conv 128->256, max pool 2, norm, ReLU                           8x8
//   layer3  3x3 conv 256->512, max pool 2, norm, ReLU                           4x4
//   res2    x + (conv 512->512, norm, ReLU, conv 512->512, norm, ReLU)(x)
//   head    max pool 4, flatten, linear 512->10 (logits)
// Convs are 3x3, padding 1, no bias. Group norm default: 32 groups. ModelOptions::width scales
// every width (64 -> w, 128 -> 2w, ...); the default is the published 64.
#include "layers/models/blocks.h"

namespace minidl::models {
using namespace blocks;

std::shared_ptr<nn::Module> resnet9(const ModelOptions& o) {
  auto conv_pool = [&](int64_t in, int64_t out) { return seq({conv(in, out, 3, 1), maxpool(2), norm(o, out), relu()}); };
  auto residual = [&](int64_t c) {
    return nn::Residual(seq({conv(c, c, 3, 1), norm(o, c), relu(), conv(c, c, 3, 1), norm(o, c), relu()}));
  };
  const int64_t w = o.width() > 0 ? o.width() : 64;  // ModelOptions::width: 64 as published
  nn::Sequential net;
  net->register_module("prep", seq({conv(3, w, 3, 1), relu(), norm(o, w), dropout(o.dropout())}));
  net->register_module("layer1", conv_pool(w, 2 * w));
  net->register_module("res1", residual(2 * w));
  net->register_module("layer2", conv_pool(2 * w, 4 * w));
  net->register_module("layer3", conv_pool(4 * w, 8 * w));
  net->register_module("res2", residual(8 * w));
  net->register_module("head", seq({maxpool(4), flatten(), nn::Linear(8 * w, 10)}));
  return net.ptr();
}

}  // namespace minidl::models

// c10net48k (reference project 003): 48,178 parameters, the network
// C1 C2 c3 P1 C3 C4 C5 c6 P2 C7 C8 C9 GAP C10 (capital C: 3x3 conv, small c: 1x1 conv, P: max
// pool), every conv with a bias; each 3x3 conv is followed by norm -> ReLU -> Dropout2d:
//   3->16, 16->16, 1x1 16->8, pool (16x16) | 8->32, 32->32, 32->32, 1x1 32->16, pool (8x8)
//   16->32, 32->32, 32->32 | avgpool 8 -> 1x1 conv 32->10
// Group norm default: 4 groups (the reference's G = 4).
#include "layers/models/blocks.h"

namespace minidl::models {
using namespace blocks;

std::shared_ptr<nn::Module> c10net48k(const ModelOptions& o) {
  nn::Sequential net;
  auto stage = [&](int64_t in, int64_t out) {  // conv -> norm -> relu -> dropout2d
    append(net, {conv(in, out, 3, 1, true), norm(o, out), relu(), dropout2d(o.dropout())});
  };
  stage(3, 16);
  stage(16, 16);
  append(net, {conv(16, 8, 1, 0, true), maxpool(2)});
  stage(8, 32);
  stage(32, 32);
  stage(32, 32);
  append(net, {conv(32, 16, 1, 0, true), maxpool(2)});
  stage(16, 32);
  stage(32, 32);
  stage(32, 32);
  append(net, {avgpool(8), conv(32, 10, 1, 0, true), flatten(), log_softmax()});
  return net.ptr();
}

}  // namespace minidl::models

// gapnet39k (reference project 002): 39,490 parameters. Conv -> ReLU -> norm -> Dropout stacks
// that widen 10 -> 20 -> 30 -> 40, 1x1 transitions to 10 channels before each max pool, and
// unpadded convs at the end that shrink 7x7 to 1x1:
//   3->10 (30) 10->20 (28) 1x1 20->10 pool (14) | 10->20 p1, 20->30 p1, 30->40 p1 (14)
//   1x1 40->10 pool (7) | 10->20 (5) 20->30 (3) 30->40 (1) | avgpool 1 -> 1x1 conv 40->10
// Group norm default: 5 groups (divides 10, 20, 30 and 40).
#include "layers/models/blocks.h"

namespace minidl::models {
using namespace blocks;

std::shared_ptr<nn::Module> gapnet39k(const ModelOptions& o) {
  nn::Sequential net;
  auto stage = [&](int64_t in, int64_t out, int64_t pad) {  // conv -> relu -> norm -> dropout
    append(net, {conv(in, out, 3, pad), relu(), norm(o, out), dropout(o.dropout())});
  };
  stage(3, 10, 0);
  stage(10, 20, 0);
  append(net, {conv(20, 10, 1, 0), maxpool(2)});
  stage(10, 20, 1);
  stage(20, 30, 1);
  stage(30, 40, 1);
  append(net, {conv(40, 10, 1, 0), maxpool(2)});
  stage(10, 20, 0);
  stage(20, 30, 0);
  stage(30, 40, 0);
  append(net, {avgpool(1), conv(40, 10, 1, 0), flatten(), log_softmax()});
  return net.ptr();
}

}  // namespace minidl::models

// convnet39k (reference project 001): 39,056 parameters. Conv -> ReLU -> norm stacks without
// padding at first, 1x1 "transition" convs before each max pool, a 5x5 average pool and a 1x1
// classifier:
//   3->16 (30x30) 16->32 (28) 1x1 32->16 pool (14) | 16->16 (12) 16->32 (10) 32->32 p1 (10)
//   1x1 32->16 pool (5) | 16->16 p1, 16->32 p1, 32->32 p1 (5) | avgpool 5 -> 1x1 conv 32->10
// All convs are 3x3 without bias unless marked 1x1; dropout after each norm when dropout > 0.
#include "layers/models/blocks.h"

namespace minidl::models {
using namespace blocks;

std::shared_ptr<nn::Module> convnet39k(const ModelOptions& o) {
  nn::Sequential net;
  auto stage = [&](int64_t in, int64_t out, int64_t pad) {  // conv -> relu -> norm (-> dropout)
    append(net, {conv(in, out, 3, pad), relu(), norm(o, out)});
    if (o.dropout() > 0) net->push_back(dropout(o.dropout()));
  };
  stage(3, 16, 0);
  stage(16, 32, 0);
  append(net, {conv(32, 16, 1, 0), maxpool(2)});
  stage(16, 16, 0);
  stage(16, 32, 0);
  stage(32, 32, 1);
  append(net, {conv(32, 16, 1, 0), maxpool(2)});
  stage(16, 16, 1);
  stage(16, 32, 1);
  stage(32, 32, 1);
  append(net, {avgpool(5), conv(32, 10, 1, 0), flatten(), log_softmax()});
  return net.ptr();
}

}  // namespace minidl::models

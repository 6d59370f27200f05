// softmax and log_softmax along one dimension (numerically stable: the max is subtracted first).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl::ops {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace minidl::ops

// View ops: reshape and flatten. They copy nothing: the result shares the input's data with a
// new shape (every minidl tensor is contiguous, so any reshape of the same numel is a view).
// No raw kernels: this family has no cpu/ or cuda/ file.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace minidl::ops {

// One size may be -1: it is inferred from the others.
Tensor reshape(const Tensor& x, const std::vector<int64_t>& shape);
// Merges dims start_dim..end_dim into one: flatten([N, C, H, W]) -> [N, C*H*W].
Tensor flatten(const Tensor& x, int64_t start_dim = 1, int64_t end_dim = -1);

}  // namespace minidl::ops

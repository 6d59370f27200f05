#include "layers/init.h"

#include <cmath>

#include "core/autograd.h"

namespace minidl::nn::init {

void uniform_(Tensor& t, double bound, Generator* gen) {
  NoGradGuard no_grad;
  t.copy_(rand(t.shape(), TensorOptions().dtype(t.dtype()), gen, -bound, bound));
}

void default_uniform_(Tensor& t, int64_t fan_in, Generator* gen) {
  MINIDL_CHECK(fan_in > 0, "init: fan_in must be positive, got ", fan_in, " for shape ", t.shape());
  uniform_(t, 1.0 / std::sqrt(static_cast<double>(fan_in)), gen);
}

}  // namespace minidl::nn::init

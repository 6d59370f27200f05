// Fits y = 3x - 1 with one linear layer and plain gradient descent; exits 0 on success.
#include <minidl.h>

#include <cmath>
#include <cstdio>

int main() {
  using namespace minidl;
  const Tensor x = tensor({-1, 0, 1, 2}, {4, 1});
  const Tensor y = tensor({-4, -1, 2, 5}, {4, 1});
  Tensor w = zeros({1, 1}, TensorOptions().requires_grad(true));
  Tensor b = zeros({1}, TensorOptions().requires_grad(true));
  for (int step = 0; step < 500; ++step) {
    Tensor err = ops::sub(ops::linear(x, w, b), y);
    Tensor loss = ops::mean(ops::mul(err, err));
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    loss.backward();
    NoGradGuard no_grad;
    ops::add_(w, w.grad(), -0.1);
    ops::add_(b, b.grad(), -0.1);
  }
  std::printf("w = %.4f, b = %.4f (expected 3, -1); cuda available: %d\n", w.item(), b.item(), cuda::is_available());
  return std::abs(w.item() - 3) < 1e-3 && std::abs(b.item() + 1) < 1e-3 ? 0 : 1;
}

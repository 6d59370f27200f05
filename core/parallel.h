// CPU threading. The CPU kernels parallelize with OpenMP (`#pragma omp parallel for`) over
// independent work: images, channels, rows. Eigen's GEMM uses the same thread count.
// Set it once, e.g. from train_cifar --threads; the default is OpenMP's (all cores).
#pragma once

namespace minidl {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

}  // namespace minidl

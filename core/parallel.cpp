#include "core/parallel.h"

#include <omp.h>

#include <Eigen/Core>

#include "core/error.h"

namespace minidl {

void set_num_threads(int n) {
  MINIDL_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got ", n);
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace minidl

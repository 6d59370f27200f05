#include "test_util.h"

#include <cmath>
#include <sstream>

#include "core/random.h"

namespace minidl::testing {

double close_ratio(const Tensor& a, const Tensor& b, double rtol, double atol) {
  MINIDL_CHECK(a.shape() == b.shape(), "close_ratio: shapes differ: ", a.shape(), " vs ", b.shape());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double r = std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i]));
    if (std::isnan(r)) return INFINITY;
    worst = std::max(worst, r);
  }
  return worst;
}

std::string diff_report(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return "shapes differ: " + a.shape().str() + " vs " + b.shape().str();
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  size_t wi = 0;
  double worst = -1;
  for (size_t i = 0; i < va.size(); ++i) {
    const double r = std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i]));
    if (std::isnan(r) || r > worst) {
      worst = std::isnan(r) ? INFINITY : r;
      wi = i;
      if (std::isnan(r)) break;
    }
  }
  std::ostringstream os;
  os << "shape " << a.shape() << ": worst element " << wi << ": " << (va.empty() ? 0 : va[wi]) << " vs "
     << (vb.empty() ? 0 : vb[wi]) << " (error/tolerance " << worst << ")";
  return os.str();
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

Tensor f64(const std::vector<double>& v, const Shape& s) { return tensor(v, s, DType::Float64); }

Tensor rand_leaf(const Shape& s, uint64_t seed, double low, double high) {
  Generator g(seed);
  Tensor t = rand(s, DType::Float64, &g, low, high);
  t.requires_grad_(true);
  return t;
}

}  // namespace minidl::testing

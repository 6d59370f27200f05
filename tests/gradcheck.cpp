#include "gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/autograd.h"
#include "core/random.h"

namespace minidl::testing {
namespace {

// Index of flat element j in shape s, e.g. "[0, 1, 2, 2]".
std::string index_str(const Shape& s, int64_t j) {
  std::vector<int64_t> idx(static_cast<size_t>(s.ndim()));
  for (int64_t d = s.ndim() - 1; d >= 0; --d) {
    idx[d] = j % s[d];
    j /= s[d];
  }
  return Shape(idx).str();
}

void set_element(Tensor& t, int64_t j, double v) {
  Tensor elem = t.view(Shape{t.numel()}).slice_rows(j, j + 1);
  elem.copy_(tensor({v}, Shape{1}, DType::Float64));
}

double dot(const Tensor& y, const std::vector<double>& r) {
  const std::vector<double> v = y.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * r[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const Fn& f, const std::vector<Tensor>& inputs, GradcheckOptions opt) {
  for (const Tensor& x : inputs)
    if (x.defined())
      MINIDL_CHECK(x.dtype() == DType::Float64, "gradcheck: inputs must be float64, got ", x.dtype(),
                   " for shape ", x.shape());
  // Analytic gradients: one backward with grad_output = r.
  for (const Tensor& x : inputs)
    if (x.defined()) Tensor(x).set_grad(Tensor());
  manual_seed(opt.seed);
  Tensor y = f(inputs);
  Generator rgen(opt.seed + 1);
  const Tensor r = randn(y.shape(), TensorOptions().dtype(DType::Float64).device(y.device()), &rgen);
  const std::vector<double> rv = r.to_vector<double>();
  y.backward(r);

  GradcheckResult res;
  std::ostringstream worst;
  auto L = [&](const std::vector<Tensor>& xs) {
    NoGradGuard no_grad;
    manual_seed(opt.seed);
    return dot(f(xs), rv);
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    if (!x.defined() || !x.requires_grad()) continue;
    const std::vector<double> analytic =
        x.grad().defined() ? x.grad().to_vector<double>() : std::vector<double>(x.numel(), 0.0);
    std::vector<double> orig = x.to_vector<double>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      set_element(x, j, orig[j] + opt.eps);
      const double lp = L(inputs);
      set_element(x, j, orig[j] - opt.eps);
      const double lm = L(inputs);
      set_element(x, j, orig[j]);
      const double numeric = (lp - lm) / (2 * opt.eps);
      const double err = std::abs(analytic[j] - numeric);
      const bool nan = std::isnan(analytic[j]) || std::isnan(numeric);
      const double ratio = nan ? INFINITY : err / (opt.atol + opt.rtol * std::abs(numeric));
      if (res.checked == 0 || ratio > res.worst_ratio) {
        res.worst_ratio = ratio;
        worst.str("");
        worst << "input " << i << " (shape " << x.shape() << ") element " << j << " (index "
              << index_str(x.shape(), j) << "): analytic " << analytic[j] << ", numeric " << numeric
              << ", |diff| " << err;
      }
      ++res.checked;
    }
  }
  res.ok = res.worst_ratio <= 1.0;
  std::ostringstream os;
  os << "gradcheck " << (res.ok ? "passed" : "FAILED") << " over " << res.checked
     << " elements; worst: " << worst.str() << " (error/tolerance = " << res.worst_ratio << ")";
  res.report = os.str();
  return res;
}

}  // namespace minidl::testing

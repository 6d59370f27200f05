#include "optim/lr_finder.h"

#include <cmath>

#include "core/autograd.h"

namespace minidl::optim {

int64_t steepest_descent_index(const std::vector<double>& losses, int64_t skip_start, int64_t skip_end) {
  const int64_t n = static_cast<int64_t>(losses.size());
  const int64_t lo = skip_start, hi = n - skip_end;  // consider [lo, hi)
  if (hi - lo < 2) return -1;
  int64_t best = -1;
  double best_slope = 0;
  for (int64_t i = lo; i < hi; ++i) {
    // Like numpy.gradient over the kept window: one-sided at its ends, central inside.
    const double slope = i == lo       ? losses[i + 1] - losses[i]
                         : i == hi - 1 ? losses[i] - losses[i - 1]
                                       : (losses[i + 1] - losses[i - 1]) / 2.0;
    if (best < 0 || slope < best_slope) best = i, best_slope = slope;
  }
  return best;
}

LRFinderResult lr_find(Optimizer& opt, const std::function<Tensor()>& batch_loss, const NamedTensors& state,
                       const LRFinderOptions& o) {
  MINIDL_CHECK(o.start_lr() > 0 && o.end_lr() > o.start_lr() && o.num_iter() >= 2, "lr_find: need 0 < start_lr < end_lr and "
               "num_iter >= 2, got start_lr=", o.start_lr(), " end_lr=", o.end_lr(), " num_iter=", o.num_iter());
  // Snapshot what training will change: weights, buffers and the optimizer's state.
  std::vector<Tensor> saved_state;
  for (const auto& [name, t] : state) saved_state.push_back(t.detach().clone());
  OptimizerState saved_opt = opt.state_dict();
  for (auto& [name, t] : saved_opt.tensors) t = t.detach().clone();

  LRFinderResult r;
  double best = 0;
  for (int64_t it = 0; it < o.num_iter(); ++it) {
    const double frac = static_cast<double>(it) / static_cast<double>(o.num_iter() - 1);
    const double lr = o.exponential() ? o.start_lr() * std::pow(o.end_lr() / o.start_lr(), frac)
                                    : o.start_lr() + (o.end_lr() - o.start_lr()) * frac;
    opt.set_lr(lr);
    opt.zero_grad();
    Tensor loss = batch_loss();
    loss.backward();
    opt.step();
    double l = loss.item();
    if (!r.losses.empty()) l = o.smooth() * l + (1 - o.smooth()) * r.losses.back();
    r.lrs.push_back(lr);
    r.losses.push_back(l);
    if (it == 0 || l < best) best = l;
    if (!std::isfinite(l) || l > o.diverge_factor() * best) {
      r.diverged = true;
      break;
    }
  }
  r.suggested_index = steepest_descent_index(r.losses, o.skip_start(), o.skip_end());
  if (r.suggested_index >= 0) r.suggested_lr = r.lrs[r.suggested_index];

  {
    NoGradGuard no_grad;
    for (size_t i = 0; i < state.size(); ++i) {
      Tensor handle = state[i].second;  // shares the storage: the copy lands in the model
      handle.copy_(saved_state[i]);
    }
  }
  opt.load_state_dict(saved_opt);
  opt.zero_grad();
  return r;
}

}  // namespace minidl::optim

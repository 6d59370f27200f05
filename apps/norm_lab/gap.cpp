// Batch norm's train/eval gap: training mode normalizes a batch with its own mean and variance,
// eval mode with the running statistics. The smaller the batch, the further its statistics fall
// from the running ones, so the two outputs drift apart; group and layer norm compute the same
// thing in both modes, and each sample's output does not depend on the rest of its batch.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "apps/norm_lab/lab.h"
#include "apps/train/plots.h"
#include "core/autograd.h"
#include "kernels/norm.h"
#include "layers/norm.h"

namespace minidl::norm_lab {
namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const float *p = a.data<float>(), *q = b.data<float>();
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(double(p[i]) - double(q[i])));
  return m;
}

double sum_sq_diff(const Tensor& a, const Tensor& b) {
  const float *p = a.data<float>(), *q = b.data<float>();
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += (double(p[i]) - double(q[i])) * (double(p[i]) - double(q[i]));
  return s;
}

}  // namespace

void run_train_eval_gap(const Lab& lab) {
  NoGradGuard no_grad;
  const int64_t C = lab.pool.size(1), P = lab.pool.size(0), Q = lab.held_out.size(0), G = lab.groups;
  const int64_t S = lab.pool.size(2) * lab.pool.size(3);

  section("2. Batch norm's train/eval gap against the batch size");
  // Running statistics the way training makes them: momentum 0.1, batches of 128, 4 passes.
  nn::BatchNorm2d bn(C);
  bn->train();
  int64_t steps = 0;
  for (int pass = 0; pass < 4; ++pass)
    for (int64_t i = 0; i + 128 <= P; i += 128, ++steps) bn(lab.pool.slice_rows(i, i + 128));
  const SetStats pop = set_stats(lab.pool, {"channel", 0});
  double dmean = 0, dvar = 0;
  const std::vector<float> rm = bn->running_mean.to_vector<float>(), rv = bn->running_var.to_vector<float>();
  for (int64_t c = 0; c < C; ++c) {
    dmean = std::max(dmean, std::fabs(rm[c] - pop.mean[c]) / pop.std[c]);
    dvar = std::max(dvar, std::fabs(rv[c] / (pop.std[c] * pop.std[c]) - 1));
  }
  std::printf("running statistics after %lld training steps (momentum 0.1, batch 128) over %lld pool images:\n"
              "  max over channels: |running_mean - pool mean| / pool std = %.4f, "
              "|running_var / pool var - 1| = %.4f\n",
              static_cast<long long>(steps), static_cast<long long>(P), dmean, dvar);

  nn::GroupNorm gn(G, C), ln(1, C);
  // Whole-set outputs: a sample's output in any smaller batch must be the same.
  gn->eval(), ln->eval(), bn->eval();
  const Tensor gn_all = gn(lab.held_out), ln_all = ln(lab.held_out), bn_eval_all = bn(lab.held_out);

  std::printf("\nThe %lld held-out images in batches of B. rms(train - eval): root mean square difference of the\n"
              "two outputs (both have std ~1). dmu, dsigma: the batch's per-channel mean and std against the\n"
              "running ones, in running std. 'batch dep.': max |output in its batch - output in one batch of %lld|.\n",
              static_cast<long long>(Q), static_cast<long long>(Q));
  Table t({"B", "batches", "BN rms(train-eval)", "rms dmu", "rms dsigma/sigma", "BN eval: batch dep.",
           "GN, LN: max train-eval", "GN, LN: batch dep."});
  plots::Series s_bn{"batch norm", {}, {}}, s_gn{"group norm G=" + std::to_string(G) + " (exactly 0)", {}, {}},
      s_ln{"layer norm (exactly 0)", {}, {}};
  for (int64_t B : {2, 8, 32, 128}) {
    double gap_sq = 0, dmu_sq = 0, dsig_sq = 0, bn_dep = 0, gn_gap = 0, gn_dep = 0, ln_gap = 0, ln_dep = 0;
    std::vector<float> mean(C), invstd(C);
    for (int64_t i = 0; i < Q; i += B) {
      const Tensor xb = lab.held_out.slice_rows(i, i + B);
      // Training mode without touching the running statistics (they stay undefined here).
      const Tensor y_train = ops::batch_norm(xb, {}, {}, bn->weight, bn->bias, true);
      const Tensor y_eval = bn(xb);  // eval mode: the running statistics
      gap_sq += sum_sq_diff(y_train, y_eval);
      bn_dep = std::max(bn_dep, max_abs_diff(y_eval, bn_eval_all.slice_rows(i, i + B)));
      // The batch's statistics, from the raw kernel (what the forward saves for backward).
      Tensor y_raw = empty_like(xb);
      ref::batch_norm_fwd_train<float>(xb.data<float>(), nullptr, nullptr, y_raw.data<float>(), mean.data(),
                                       invstd.data(), nullptr, nullptr, B, C, S, 0.1, 1e-5);
      for (int64_t c = 0; c < C; ++c) {
        const double sigma_run = std::sqrt(rv[c] + 1e-5), sigma_b = 1.0 / invstd[c];
        dmu_sq += std::pow((mean[c] - rm[c]) / sigma_run, 2);
        dsig_sq += std::pow(sigma_b / sigma_run - 1, 2);
      }
      // Group and layer norm: train and eval mode, and the whole-set output.
      for (auto [m, all, gap, dep] : {std::make_tuple(&gn, &gn_all, &gn_gap, &gn_dep),
                                      std::make_tuple(&ln, &ln_all, &ln_gap, &ln_dep)}) {
        (*m)->train();
        const Tensor a = (*m)(xb);
        (*m)->eval();
        const Tensor b = (*m)(xb);
        *gap = std::max(*gap, max_abs_diff(a, b));
        *dep = std::max(*dep, max_abs_diff(b, all->slice_rows(i, i + B)));
      }
    }
    const double batches = double(Q / B), gap = std::sqrt(gap_sq / double(lab.held_out.numel()));
    t.row({std::to_string(B), std::to_string(Q / B), fmt("%.4f", gap), fmt("%.4f", std::sqrt(dmu_sq / (batches * C))),
           fmt("%.4f", std::sqrt(dsig_sq / (batches * C))), fmt("%g", bn_dep),
           fmt("%g", gn_gap) + ", " + fmt("%g", ln_gap), fmt("%g", gn_dep) + ", " + fmt("%g", ln_dep)});
    s_bn.x.push_back(double(B)), s_bn.y.push_back(gap);
    s_gn.x.push_back(double(B)), s_gn.y.push_back(gn_gap);
    s_ln.x.push_back(double(B)), s_ln.y.push_back(ln_gap);
  }
  t.print();
  plots::line_chart(lab.out + "/bn_train_eval_gap.png",
                    "BN train/eval gap, CIFAR-10 (JPEG q75 copy)", "batch size",
                    "rms(train output - eval output)", {s_bn, s_gn, s_ln}, true);
  std::printf("wrote bn_train_eval_gap.png\n");
}

}  // namespace minidl::norm_lab

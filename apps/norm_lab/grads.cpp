// The gradient that reaches the conv layers with each norm: one forward and backward pass of a
// zoo model (same seed, so the same conv weights for every norm) on 128 held-out images.
// Because relu(conv(x, a*w)) = a*relu(conv(x, w)) for a > 0 and a norm removes any positive
// scale, the loss does not change when a conv weight that feeds a norm is scaled: its gradient
// is orthogonal to it and shrinks by 1/a. That is shown for the first conv layer.
#include <cmath>
#include <cstdio>

#include "apps/norm_lab/lab.h"
#include "apps/train/plots.h"
#include "core/autograd.h"
#include "core/random.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"
#include "kernels/softmax.h"
#include "layers/models/zoo.h"

namespace minidl::norm_lab {
namespace {

double dot(const Tensor& a, const Tensor& b) {
  const float *p = a.data<float>(), *q = b.data<float>();
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += double(p[i]) * double(q[i]);
  return s;
}
double norm2(const Tensor& a) { return std::sqrt(dot(a, a)); }

// Zeroes the gradients, runs one forward and backward pass, returns the loss. The zoo models end
// in log_softmax or in logits; log_softmax of log-probabilities changes nothing, so it is applied
// to both. Re-seeding first gives models with dropout the same masks in every pass.
double loss_and_grads(nn::Module& model, const Tensor& images, const Tensor& labels, uint64_t seed) {
  manual_seed(seed);
  model.zero_grad();
  const Tensor loss = ops::nll_loss(ops::log_softmax(model(images), 1), labels);
  loss.backward();
  return loss.item();
}

}  // namespace

void run_gradient_scale(const Lab& lab) {
  section("3. Gradient of the conv weights with each norm (" + lab.model + ", 128 held-out images, seed " +
          std::to_string(lab.seed) + ")");
  const Tensor images = lab.images.slice_rows(0, 128), labels = lab.labels.slice_rows(0, 128);
  Table summary({"norm", "params", "buffer values", "loss", "|w1|", "|dL/dw1|", "cos(w1, dL/dw1)",
                 "|dL/dw1| at 10*w1", "ratio"});
  std::vector<std::vector<double>> per_layer;  // [norm][conv layer] = |dL/dW|
  std::vector<std::string> conv_names, norm_names;
  for (nn::NormKind kind : {nn::NormKind::Batch, nn::NormKind::Group, nn::NormKind::Layer}) {
    manual_seed(lab.seed);
    auto model = models::make_model(lab.model, models::ModelOptions().norm(kind));
    model->train();
    std::string name = nn::norm_kind_name(kind);
    if (kind == nn::NormKind::Group)
      name += " (G=" + std::to_string(models::model_info(lab.model).default_groups) + ")";
    norm_names.push_back(name);
    int64_t buffer_values = 0;
    for (const auto& [n, b] : model->named_buffers()) buffer_values += b.numel();

    const double loss = loss_and_grads(*model, images, labels, lab.seed + 1);
    // The conv weights (4-D parameters) in order; the first is conv1.
    std::vector<Tensor> convs;
    conv_names.clear();
    per_layer.emplace_back();
    for (const auto& [n, p] : model->named_parameters())
      if (p.dim() == 4) convs.push_back(p), conv_names.push_back(n), per_layer.back().push_back(norm2(p.grad()));
    Tensor w1 = convs.at(0);
    const double wn = norm2(w1), g1 = norm2(w1.grad()), cosine = dot(w1, w1.grad()) / (wn * g1);
    // The same pass with conv1's weights scaled by 10: the gradient should be g1 / 10.
    {
      NoGradGuard no_grad;
      w1.copy_(w1 * 10.0);
    }
    loss_and_grads(*model, images, labels, lab.seed + 1);
    const double g10 = norm2(w1.grad());
    summary.row({name, std::to_string(model->num_parameters()), std::to_string(buffer_values), fmt("%.4f", loss),
                 fmt("%.4f", wn), fmt("%.4g", g1), fmt("%.1e", cosine), fmt("%.4g", g10), fmt("%.4f", g10 / g1)});
  }
  summary.print();

  std::printf("\n|dL/dW| of every conv layer (in order; the first one is w1 above):\n");
  std::vector<std::string> header = {"conv weight"};
  for (const auto& n : norm_names) header.push_back(n);
  Table t(header);
  std::vector<plots::Series> series;
  for (size_t k = 0; k < norm_names.size(); ++k) series.push_back({norm_names[k], {}, {}});
  for (size_t l = 0; l < conv_names.size(); ++l) {
    std::vector<std::string> row = {conv_names[l]};
    for (size_t k = 0; k < norm_names.size(); ++k) {
      row.push_back(fmt("%.4g", per_layer[k][l]));
      series[k].x.push_back(double(l + 1)), series[k].y.push_back(std::log10(per_layer[k][l]));
    }
    t.row(row);
  }
  t.print();
  plots::line_chart(lab.out + "/grad_norms.png",
                    "|dL/dW| per conv, CIFAR-10 (JPEG q75 copy)", lab.model + " conv layer (input to output)",
                    "log10 |dL/dW|, one batch of 128", series);
  std::printf("wrote grad_norms.png\n");
}

}  // namespace minidl::norm_lab

#include "apps/train/evaluate.h"

#include "apps/train/progress.h"
#include "core/autograd.h"
#include "kernels/elementwise.h"
#include "kernels/loss.h"

namespace minidl::train {

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const int64_t n = logits.size(0), c = logits.size(1);
  const std::vector<float> v = logits.to_vector<float>();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j)
      if (v[i * c + j] > v[i * c + best]) best = j;
    out[i] = best;
  }
  return out;
}

int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  const std::vector<int64_t> pred = argmax_rows(logits), truth = labels.to_vector<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
  return correct;
}

EvalResult evaluate(nn::Module& model, data::DataLoader& loader, bool flip_tta, int64_t epoch, int64_t epochs) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, tta_correct = 0;
  loader.start_epoch(0);
  data::Batch b;
  ProgressBar bar("test", epoch, epochs, loader.num_batches());
  int64_t batches = 0;
  while (loader.next(b)) {
    Tensor out = model(b.images);
    loss_sum += ops::cross_entropy(out, b.labels).item() * static_cast<double>(b.size());
    const std::vector<int64_t> pred = argmax_rows(out);
    const std::vector<int64_t> truth = b.labels.to_vector<int64_t>();
    for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
    r.predictions.insert(r.predictions.end(), pred.begin(), pred.end());
    r.labels.insert(r.labels.end(), truth.begin(), truth.end());
    const std::vector<float> logits = out.to_vector<float>();
    r.logits.insert(r.logits.end(), logits.begin(), logits.end());
    r.classes = out.size(1);
    if (flip_tta) {
      const Tensor both = ops::add(out, model(loader.mirrored_images(b)));
      const std::vector<int64_t> tta = argmax_rows(both);
      for (size_t i = 0; i < tta.size(); ++i) tta_correct += tta[i] == truth[i];
    }
    seen += b.size();
    if (epoch > 0)
      bar.update(++batches, seen, loss_sum / static_cast<double>(seen),
                 100.0 * static_cast<double>(correct) / static_cast<double>(seen));
  }
  bar.finish();
  model.train(was_training);
  r.loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
  r.accuracy = seen ? 100.0 * static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  if (flip_tta) r.flip_tta_accuracy = seen ? 100.0 * static_cast<double>(tta_correct) / static_cast<double>(seen) : 0.0;
  return r;
}

}  // namespace minidl::train

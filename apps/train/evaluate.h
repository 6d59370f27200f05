// Test-set evaluation: mean cross-entropy (no label smoothing), accuracy and every prediction.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataloader.h"
#include "layers/module.h"

namespace minidl::train {

struct EvalResult {
  double loss = 0;      // mean cross-entropy over the samples
  double accuracy = 0;  // percent
  std::vector<int64_t> predictions;  // predicted class of every sample, in loader order
  std::vector<int64_t> labels;       // the true class of every sample, in loader order
  std::vector<float> logits;         // [samples x classes], row-major, in loader order
  int64_t classes = 0;
  // With flip test-time augmentation: accuracy of the mean of the logits of each image and its
  // mirror image (the predictions and logits above stay those of the plain images); else -1.
  double flip_tta_accuracy = -1;
};

// Runs the model in eval mode without autograd over one epoch of `loader` (which must not
// shuffle); restores the model's training flag. A stop request (signals.h) does not cut it short:
// the test pass of a trained epoch is finished so that the epoch is kept. With epoch > 0 a live
// "test" progress line is drawn on a terminal (epoch of epochs).
EvalResult evaluate(nn::Module& model, data::DataLoader& loader, bool flip_tta = false, int64_t epoch = 0,
                    int64_t epochs = 0);

// Index of the largest value in each row of a [N, C] tensor (any device).
std::vector<int64_t> argmax_rows(const Tensor& logits);
// How many rows of `logits` have their largest value at the row's label (labels: int64 [N]).
int64_t count_correct(const Tensor& logits, const Tensor& labels);

}  // namespace minidl::train

// `train_cifar --evaluate PATH`: the test-set accuracy, per-class accuracy and confusion matrix
// of saved weights, without training. PATH is a run folder (its model.safetensors) or a
// model.safetensors; the model is rebuilt from the recipe saved in the file's metadata (files
// from before the recipe was saved: from its "model" and "norm" with the model's defaults).
// Writes predictions.csv, evaluation.json and the pictures into `out` (default: an
// "evaluation" folder beside the weights), never over the run's own files.
#pragma once
#include <string>

#include "apps/train/config.h"

namespace minidl::train {

struct EvaluateOptions {
  std::string weights;  // run folder or model.safetensors
  std::string data;     // CIFAR-10 folder; empty: the one in the saved recipe
  std::string out;      // empty: <folder of the weights>/evaluation
  Environment env;      // device, threads, workers
};

// Returns the test accuracy in percent.
double evaluate_saved(const EvaluateOptions& options);

}  // namespace minidl::train

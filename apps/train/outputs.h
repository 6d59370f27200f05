// The files a run leaves in its folder (besides the checkpoints):
//   metrics.csv            one row per epoch
//   metrics.json           the config, the device, the per-epoch records and the final numbers
//   curves.png             loss and accuracy, train and test, per epoch
//   misclassified.png      20 misclassified test images labelled true / predicted
//   per_class_accuracy.png test accuracy of each class
//   confusion_matrix.png   true class x predicted class counts
//   lr_finder.png / .csv   the LR range test, when --lr-find ran
// and, for --norm all, comparison.md and comparison.png in the parent folder.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train/run.h"
#include "data/cifar10.h"
#include "optim/lr_finder.h"

namespace minidl::train {

void write_metrics(const RunResult& r, const nlohmann::json& extra);
void write_pictures(const RunResult& r, const data::Cifar10& test_set, const std::vector<int64_t>& predictions);
void write_lr_finder(const std::string& out_dir, const optim::LRFinderResult& lr);
// comparison.md (a table like the reference projects' result tables) and comparison.png.
void write_comparison(const std::string& out_dir, const std::vector<RunResult>& runs);

// Writes text to path through path.tmp + rename.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace minidl::train

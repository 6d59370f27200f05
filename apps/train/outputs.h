// The files a run leaves in its folder (besides the checkpoints, see checkpoint.h):
//   metrics.csv            one row per epoch
//   metrics.json           the recipe, the environment, the command that reproduces the run, the
//                          device, the per-epoch records and the final numbers ("final.finished"
//                          is written last: when true, every other file of the run is there)
//   loss.png, accuracy.png loss and accuracy, train and test, per epoch
//   predictions.csv        every test image: index, true label, predicted label, the ten logits
//   misclassified.png      20 misclassified test images labelled true / predicted
//   per_class_accuracy.png test accuracy of each class
//   confusion_matrix.png   true class x predicted class counts
//   lr_finder.png / .csv   the LR range test, when --lr-find ran
// and, for --norm all, norm_all.json (the shared recipe, for --resume), comparison.md and
// comparison.png in the parent folder. Every file goes through core/atomic_file.h.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train/evaluate.h"
#include "apps/train/records.h"
#include "data/cifar10.h"
#include "optim/lr_finder.h"

namespace minidl::train {

void write_metrics(const RunResult& r);
// predictions.csv, misclassified.png, per_class_accuracy.png, confusion_matrix.png of one
// evaluation of the test set (`what` goes into the picture titles, e.g. "skipnet48k, batch norm").
void write_evaluation_files(const std::string& out_dir, const std::string& what, const data::Cifar10& test_set,
                            const EvalResult& eval);
// loss.png and accuracy.png
void write_curves(const RunResult& r);
// Per-class accuracy and the confusion matrix as text (for the terminal).
std::string evaluation_report(const data::Cifar10& test_set, const EvalResult& eval);
// The same as JSON: {"per_class_accuracy": {class: %}, "confusion_matrix": {"classes": [...],
// "rows_true_columns_predicted": [[...]]}} (evaluation.json).
nlohmann::json evaluation_json(const data::Cifar10& test_set, const EvalResult& eval);
void write_lr_finder(const std::string& out_dir, const optim::LRFinderResult& lr);
// comparison.md (a table like the reference projects' result tables) and comparison.png; returns the table.
std::string write_comparison(const std::string& out_dir, const std::vector<RunResult>& runs);

}  // namespace minidl::train

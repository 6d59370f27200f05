// What a train_cifar run produces: one record per epoch and the run's result, with their JSON
// forms (metrics.json, the checkpoint's history). Used by run.cpp, which fills them, and by
// outputs.cpp, which writes them.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train/config.h"

namespace minidl::train {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  // The learning rates the epoch trained with: its first and its last step's (a schedule that
  // steps per epoch changes the rate only after the epoch, so both are the same there).
  double lr_first = 0, lr = 0;
  double seconds = 0;       // training + evaluation
  double data_wait = 0;     // seconds the training loop waited for batches
  double images_per_second = 0;
};
nlohmann::json to_json(const EpochRecord& r);
// Strict: errors name `where` and the field.
EpochRecord epoch_record_from_json(const nlohmann::json& j, const std::string& where);

struct RunResult {
  Recipe recipe;           // as run (data absolute, fingerprint set)
  Environment env;
  std::string out_dir, device;
  int64_t params = 0;
  int64_t train_images = 0, test_images = 0;
  double suggested_lr = 0;  // the LR finder's pick, when --lr-find ran (0 otherwise)
  std::vector<EpochRecord> history;
  double best_test_acc = 0;
  int64_t best_epoch = 0;
  // Test accuracy of the final model with flip test-time augmentation (-1: not measured). The
  // plain test_acc of the last epoch is the headline; this one is reported beside it.
  double flip_tta_acc = -1;
  double seconds = 0;             // all epochs, including those before a resume
  bool finished = false;          // false when stopped early (--stop-after)
  bool already_finished = false;  // --resume of a run that had ended: nothing was trained
};

// The best test accuracy and its epoch (the first of equals) over a history.
std::pair<double, int64_t> best_epoch(const std::vector<EpochRecord>& history);

}  // namespace minidl::train

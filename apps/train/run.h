// One training run of train_cifar: data, model, optimizer, schedule, the epoch loop, checkpoints
// and the files in the run folder (outputs.h lists them).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train/config.h"

namespace minidl::train {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0;
  double lr = 0;            // at the end of the epoch
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

// Runs config.recipe (norm: batch, group or layer) into config.env.out, from scratch or, with
// config.resume, from that checkpoint (whose recipe must equal config.recipe but for more epochs;
// resume.h builds such a config). Prints progress to stdout. Throws Interrupted (signals.h) when
// a stop was requested, after printing how to resume; the last complete checkpoint stays.
RunResult run_training(const TrainConfig& config);

// The best test accuracy and its epoch (the first of equals) over a history.
std::pair<double, int64_t> best_epoch(const std::vector<EpochRecord>& history);

}  // namespace minidl::train

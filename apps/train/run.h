// One training run of train_cifar: data, model, optimizer, schedule, the epoch loop, checkpoints
// and the files in the run folder (see apps/train_cifar.cpp for the list).
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
EpochRecord epoch_record_from_json(const nlohmann::json& j);

struct RunResult {
  TrainConfig config;
  std::string out_dir, device;
  int64_t params = 0;
  std::vector<EpochRecord> history;
  double best_test_acc = 0;
  int64_t best_epoch = 0;
  double seconds = 0;     // all epochs, including those before a resume
  bool finished = false;  // false when stopped early (--stop-after)
};

// Runs config (norm is batch, group or layer) into config.out; prints progress to stdout.
RunResult run_training(const TrainConfig& config);

}  // namespace minidl::train

// Checkpoints of a train_cifar run, written after every epoch into the run folder:
//   model.safetensors       the weights (and batch-norm buffers) under their module names, loadable
//                           in PyTorch with safetensors.torch.load_file(path)
//   checkpoint.safetensors  everything needed to resume: "model.<name>" and "optimizer.<key>"
//                           tensors, and in the metadata the config, the epoch, the optimizer's and
//                           the scheduler's scalars, the random generator's state and the history
// Both are written to a temporary file and renamed, so a crash never leaves a broken checkpoint.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/train/config.h"
#include "core/safetensors.h"
#include "layers/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace minidl::train {

struct Checkpoint {
  TrainConfig config;
  int64_t epoch = 0;       // epochs completed
  nlohmann::json history;  // the per-epoch records so far
  nlohmann::json extra;    // e.g. the LR finder's result
  SafetensorsFile file;
};

void save_checkpoint(const std::string& out_dir, const TrainConfig& config, int64_t epoch, const nn::Module& model,
                     const optim::Optimizer& opt, const optim::LRScheduler* sched, const nlohmann::json& history,
                     const nlohmann::json& extra);

// Reads a checkpoint.safetensors (errors name the file and what is missing).
Checkpoint read_checkpoint(const std::string& path);

// Puts the saved weights, optimizer state, scheduler state and generator state back.
void restore_checkpoint(const Checkpoint& ckpt, nn::Module& model, optim::Optimizer& opt, optim::LRScheduler* sched);

}  // namespace minidl::train

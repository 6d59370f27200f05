// Checkpoints of a train_cifar run, written after every epoch into the run folder:
//   checkpoint.safetensors  everything needed to resume: "model.<name>" and "optimizer.<key>"
//                           tensors, and in the metadata the recipe, the epoch, the optimizer's and
//                           the scheduler's scalars, the random generator's state, the history
//                           and derived values (e.g. the LR finder's pick)
//   model.safetensors       the weights (and batch-norm buffers) under their module names, loadable
//                           in PyTorch with safetensors.torch.load_file(path); its metadata holds
//                           the recipe too, so `train_cifar --evaluate` can rebuild the model
// The checkpoint is written first, then the model file; both through core/atomic_file.h (unique
// temp file, fsync, rename, fsync of the folder), so a crash or power loss never leaves a broken
// one. A crash between the two leaves model.safetensors one epoch behind: its "epoch" metadata
// says so, and resuming rewrites it from the checkpoint.
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
  std::string path;
  Recipe recipe;
  int64_t epoch = 0;       // epochs completed
  nlohmann::json history;  // the per-epoch records so far (an array of epoch records)
  nlohmann::json extra;    // derived values, e.g. {"lr_finder": {"suggested_lr": ...}}
  SafetensorsFile file;
};

void save_checkpoint(const std::string& out_dir, const Recipe& recipe, int64_t epoch, const nn::Module& model,
                     const optim::Optimizer& opt, const optim::LRScheduler* sched, const nlohmann::json& history,
                     const nlohmann::json& extra);
// Only model.safetensors (used to repair a run whose model file is behind its checkpoint).
void save_model_file(const std::string& out_dir, const Recipe& recipe, int64_t epoch, const nn::Module& model);

// Reads and checks a checkpoint.safetensors: every metadata field is parsed strictly, errors
// name the file and the field (an epoch of -3 or a history of the wrong length is refused).
Checkpoint read_checkpoint(const std::string& path);

// Puts the saved weights, optimizer state, scheduler state and generator state back.
void restore_checkpoint(const Checkpoint& ckpt, nn::Module& model, optim::Optimizer& opt, optim::LRScheduler* sched);

// The "epoch" metadata of a model.safetensors, or -1 when the file is missing or unreadable.
int64_t model_file_epoch(const std::string& path);

}  // namespace minidl::train

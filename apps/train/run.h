// One training run of train_cifar: data, model, optimizer, schedule, the epoch loop, checkpoints
// and the files in the run folder (outputs.h lists them; records.h holds what a run produces).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/train/config.h"
#include "apps/train/records.h"

namespace minidl::train {

// Runs config.recipe (norm: batch, group or layer) into config.env.out, from scratch or, with
// config.resume, from that checkpoint (whose recipe must equal config.recipe but for more epochs;
// resume.h builds such a config). Prints progress to stdout. Throws Interrupted (signals.h) when
// a stop was requested, after printing how to resume; the last complete checkpoint stays.
RunResult run_training(const TrainConfig& config);

}  // namespace minidl::train

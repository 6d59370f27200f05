// The pieces a run is built from, made from its recipe: device, model, optimizer, schedule and
// the augmentation options. Shared by the training run and `train_cifar --evaluate`.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/train/config.h"
#include "core/device.h"
#include "kernels/augment.h"
#include "layers/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace minidl::train {

// auto: CUDA when a GPU is present; cuda without one is an error naming the flag.
Device pick_device(const std::string& device);
// --augment (none, flip-crop, flip-crop-cutout) and --pad-fill (zero, mean) as AugmentOptions.
AugmentOptions augment_options(const std::string& augment, const std::string& pad_fill);
// Seeds the generator with recipe.seed and builds the zoo model (not yet moved to a device).
std::shared_ptr<nn::Module> make_recipe_model(const Recipe& recipe);
std::unique_ptr<optim::Optimizer> make_optimizer(const Recipe& r, const std::vector<Tensor>& params);
// nullptr for --scheduler none. lr / max_lr come from r (the LR finder's pick already applied).
std::unique_ptr<optim::LRScheduler> make_scheduler(const Recipe& r, optim::Optimizer& opt, int64_t steps_per_epoch);

}  // namespace minidl::train

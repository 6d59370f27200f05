#include "apps/train/setup.h"

#include "core/cuda_context.h"
#include "core/random.h"
#include "layers/models/zoo.h"
#include "optim/adam.h"
#include "optim/onecycle.h"
#include "optim/sgd.h"

namespace minidl::train {

Device pick_device(const std::string& d) {
  if (d == "cpu") return Device::cpu();
  if (d == "cuda") {
    MINIDL_CHECK(cuda::is_available(), "--device cuda: no CUDA GPU is available on this machine "
                 "(use --device cpu or auto)");
    return Device::cuda();
  }
  return cuda::is_available() ? Device::cuda() : Device::cpu();
}

AugmentOptions augment_options(const std::string& a, const std::string& pad_fill) {
  AugmentOptions o = AugmentOptions::normalize_only().pad_fill(parse_pad_fill(pad_fill));
  if (a == "flip-crop" || a == "flip-crop-cutout") o.crop(true).flip(true);
  if (a == "flip-crop-cutout") o.cutout(true);
  return o;
}

std::shared_ptr<nn::Module> make_recipe_model(const Recipe& r) {
  manual_seed(r.seed);
  return models::make_model(r.model, models::ModelOptions()
                                         .norm(nn::parse_norm_kind(r.norm))
                                         .groups(r.groups)
                                         .dropout(r.dropout)
                                         .weight_standardization(r.weight_std));
}

std::unique_ptr<optim::Optimizer> make_optimizer(const Recipe& r, const std::vector<Tensor>& params) {
  if (r.optimizer == "sgd")
    return std::make_unique<optim::SGD>(params, optim::SGDOptions(r.lr).momentum(r.momentum).nesterov(
                                                    r.nesterov && r.momentum > 0).weight_decay(r.weight_decay));
  const auto o = optim::AdamOptions(r.lr).weight_decay(r.weight_decay);
  if (r.optimizer == "adamw") return std::make_unique<optim::AdamW>(params, o);
  return std::make_unique<optim::Adam>(params, o);
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const Recipe& r, optim::Optimizer& opt, int64_t steps_per_epoch) {
  if (r.scheduler == "onecycle") {
    return std::make_unique<optim::OneCycleLR>(
        opt, optim::OneCycleOptions(r.max_lr, r.epochs, steps_per_epoch)
                 .pct_start(r.pct_start).div_factor(r.div_factor).final_div_factor(r.final_div_factor)
                 .three_phase(r.three_phase).cos_anneal(r.anneal == "cos")
                 .cycle_momentum(r.optimizer != "sgd" || r.momentum > 0));
  }
  if (r.scheduler == "step") return std::make_unique<optim::StepLR>(opt, r.step_size, r.gamma);
  if (r.scheduler == "plateau") {
    // Steps on the test loss: train_cifar has no validation split, so this schedule looks at
    // the test set (documented in --help); prefer onecycle or step for honest test numbers.
    return std::make_unique<optim::ReduceLROnPlateau>(opt, optim::ReduceLROnPlateauOptions().factor(r.gamma).patience(2));
  }
  return nullptr;
}

}  // namespace minidl::train

#include "apps/train/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/train/checkpoint.h"
#include "apps/train/evaluate.h"
#include "apps/train/outputs.h"
#include "apps/train/progress.h"
#include "core/cuda_context.h"
#include "core/parallel.h"
#include "core/random.h"
#include "data/dataloader.h"
#include "kernels/loss.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"
#include "optim/adam.h"
#include "optim/lr_finder.h"
#include "optim/onecycle.h"
#include "optim/sgd.h"

namespace minidl::train {

nlohmann::json to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},         {"train_loss", r.train_loss}, {"train_acc", r.train_acc},
          {"test_loss", r.test_loss}, {"test_acc", r.test_acc},     {"lr", r.lr},
          {"seconds", r.seconds},     {"data_wait", r.data_wait},   {"images_per_second", r.images_per_second}};
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.train_loss = j.at("train_loss"), r.train_acc = j.at("train_acc");
  r.test_loss = j.at("test_loss"), r.test_acc = j.at("test_acc");
  r.lr = j.at("lr"), r.seconds = j.at("seconds"), r.data_wait = j.at("data_wait");
  r.images_per_second = j.at("images_per_second");
  return r;
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Device pick_device(const std::string& d) {
  if (d == "cpu") return Device::cpu();
  if (d == "cuda") {
    MINIDL_CHECK(cuda::is_available(), "--device cuda: no CUDA GPU is available on this machine "
                 "(use --device cpu or auto)");
    return Device::cuda();
  }
  return cuda::is_available() ? Device::cuda() : Device::cpu();
}

AugmentOptions augment_options(const std::string& a) {
  AugmentOptions o = AugmentOptions::normalize_only();
  if (a == "flip-crop" || a == "flip-crop-cutout") o.crop(true).flip(true);
  if (a == "flip-crop-cutout") o.cutout(true);
  return o;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, const std::vector<Tensor>& params) {
  if (c.optimizer == "sgd")
    return std::make_unique<optim::SGD>(params, optim::SGDOptions(c.lr).momentum(c.momentum).nesterov(
                                                    c.nesterov && c.momentum > 0).weight_decay(c.weight_decay));
  const auto o = optim::AdamOptions(c.lr).weight_decay(c.weight_decay);
  if (c.optimizer == "adamw") return std::make_unique<optim::AdamW>(params, o);
  return std::make_unique<optim::Adam>(params, o);
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const TrainConfig& c, optim::Optimizer& opt, int64_t steps_per_epoch) {
  if (c.scheduler == "onecycle") {
    return std::make_unique<optim::OneCycleLR>(
        opt, optim::OneCycleOptions(c.max_lr, c.epochs, steps_per_epoch)
                 .pct_start(c.pct_start).div_factor(c.div_factor).final_div_factor(c.final_div_factor)
                 .three_phase(c.three_phase).cos_anneal(c.anneal == "cos")
                 .cycle_momentum(c.optimizer != "sgd" || c.momentum > 0));
  }
  if (c.scheduler == "step") return std::make_unique<optim::StepLR>(opt, c.step_size, c.gamma);
  if (c.scheduler == "plateau") {
    optim::ReduceLROnPlateau::Options o;
    o.factor = c.gamma;
    o.patience = 2;
    return std::make_unique<optim::ReduceLROnPlateau>(opt, o);
  }
  return nullptr;
}

}  // namespace

RunResult run_training(const TrainConfig& given) {
  TrainConfig cfg = given;
  Checkpoint ckpt;
  if (!cfg.resume.empty()) {  // the checkpoint's recipe is authoritative; where to read/write is not
    ckpt = read_checkpoint(cfg.resume);
    TrainConfig saved = ckpt.config;
    saved.data = cfg.data, saved.out = cfg.out, saved.device = cfg.device, saved.threads = cfg.threads;
    saved.workers = cfg.workers, saved.resume = cfg.resume, saved.stop_after = cfg.stop_after;
    if (given.epochs > saved.epochs) saved.epochs = given.epochs;  // allow extending a finished run
    cfg = saved;
  }
  cfg.validate();
  if (cfg.threads > 0) set_num_threads(cfg.threads);
  std::filesystem::create_directories(cfg.out);
  const Device device = pick_device(cfg.device);

  // Data: the training split (augmented, shuffled per epoch) and the test split.
  const data::Cifar10 train_set = data::load_cifar10(cfg.data, data::Split::Train, cfg.limit_train);
  const data::Cifar10 test_set = data::load_cifar10(cfg.data, data::Split::Test);
  data::DataLoader train_loader(train_set, data::DataLoaderOptions().batch_size(cfg.batch_size).seed(cfg.seed)
                                               .workers(cfg.workers).augment(augment_options(cfg.augment)).device(device));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(500).shuffle(false)
                                             .workers(cfg.workers).device(device));

  // Model: initialized from the seed, then moved to the device.
  manual_seed(cfg.seed);
  models::ModelOptions mo;
  mo.norm = nn::parse_norm_kind(cfg.norm);
  mo.groups = cfg.groups;
  mo.dropout = cfg.dropout;
  auto model = models::make_model(cfg.model, mo);
  model->to(device);
  RunResult result;
  result.config = cfg;
  result.out_dir = cfg.out;
  result.device = device.is_cuda() ? cuda::device_name() : "cpu (" + std::to_string(get_num_threads()) + " threads)";
  result.params = model->num_parameters();

  auto opt = make_optimizer(cfg, model->parameters());
  auto step_loss = [&](data::Batch& b) {
    Tensor out = (*model)(b.images);
    return std::make_pair(out, ops::cross_entropy(out, b.labels, cfg.label_smoothing));
  };

  nlohmann::json extra = ckpt.extra.is_null() ? nlohmann::json::object() : ckpt.extra;
  if (cfg.lr_find && cfg.resume.empty()) {
    data::Batch b;
    int64_t epoch = 0;
    train_loader.start_epoch(epoch);
    auto next_loss = [&] {
      if (!train_loader.next(b)) {
        train_loader.start_epoch(++epoch);
        train_loader.next(b);
      }
      return step_loss(b).second;
    };
    optim::LRFinderOptions lo;
    lo.start_lr = 1e-6;
    lo.end_lr = 10;
    lo.num_iter = 100;
    const auto lr = optim::lr_find(*model, *opt, next_loss, lo);
    MINIDL_CHECK(lr.suggested_index >= 0, "LR finder: the loss curve is too short to suggest a learning rate (",
                 lr.lrs.size(), " points before divergence); set --lr / --max-lr yourself");
    std::printf("LR finder: suggested learning rate %.3g (steepest descent of the loss, %zu points%s)\n",
                lr.suggested_lr, lr.lrs.size(), lr.diverged ? ", stopped at divergence" : "");
    write_lr_finder(cfg.out, lr);
    (cfg.scheduler == "onecycle" ? cfg.max_lr : cfg.lr) = lr.suggested_lr;
    opt->set_lr(cfg.lr);
    extra["lr_finder"] = {{"suggested_lr", lr.suggested_lr}, {"lrs", lr.lrs}, {"losses", lr.losses}};
    result.config = cfg;
  }
  if (cfg.epochs == 0) {
    std::printf("--epochs 0: nothing to train\n");
    return result;
  }
  auto sched = make_scheduler(cfg, *opt, train_loader.num_batches());

  int64_t start_epoch = 0;
  nlohmann::json history = nlohmann::json::array();
  if (!cfg.resume.empty()) {
    restore_checkpoint(ckpt, *model, *opt, sched.get());
    start_epoch = ckpt.epoch;
    history = ckpt.history;
    for (const auto& h : history) result.history.push_back(epoch_record_from_json(h));
    std::printf("resuming %s from epoch %lld of %s\n", cfg.model.c_str(), (long long)start_epoch, cfg.resume.c_str());
  }
  std::printf("training %s (%s norm, %s params) on %s for %lld epochs: %s, batch %lld, %s\n", cfg.model.c_str(),
              cfg.norm.c_str(), nn::with_commas(result.params).c_str(), result.device.c_str(), (long long)cfg.epochs,
              cfg.optimizer.c_str(), (long long)cfg.batch_size, cfg.scheduler.c_str());
  std::fflush(stdout);

  EvalResult last_eval;
  for (int64_t epoch = start_epoch; epoch < cfg.epochs; ++epoch) {
    const auto t0 = Clock::now();
    model->train();
    train_loader.start_epoch(epoch);
    ProgressBar bar(epoch + 1, cfg.epochs, train_loader.num_batches());
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, batches = 0;
    data::Batch b;
    while (train_loader.next(b)) {
      auto [out, loss] = step_loss(b);
      opt->zero_grad();
      loss.backward();
      opt->step();
      if (sched) sched->step_batch();
      const double l = loss.item();
      MINIDL_CHECK(std::isfinite(l), "training diverged: the loss is ", l, " at epoch ", epoch + 1, ", batch ",
                   batches + 1, "; lower the learning rate (--lr / --max-lr)");
      loss_sum += l * static_cast<double>(b.size());
      const auto pred = argmax_rows(out);
      const auto truth = b.labels.to_vector<int64_t>();
      for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
      seen += b.size();
      ++batches;
      bar.update(batches, seen, loss_sum / static_cast<double>(seen), 100.0 * static_cast<double>(correct) / static_cast<double>(seen));
    }
    bar.finish();
    const double train_seconds = since(t0);
    last_eval = evaluate(*model, test_loader);
    if (sched) sched->step_epoch(last_eval.loss);

    EpochRecord r;
    r.epoch = epoch + 1;
    r.train_loss = loss_sum / static_cast<double>(seen);
    r.train_acc = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
    r.test_loss = last_eval.loss;
    r.test_acc = last_eval.accuracy;
    r.lr = opt->lr();
    r.seconds = since(t0);
    r.data_wait = train_loader.wait_seconds();
    r.images_per_second = static_cast<double>(seen) / train_seconds;
    result.history.push_back(r);
    history.push_back(to_json(r));
    std::printf("epoch %3lld/%lld  train loss %.4f acc %6.2f%%  test loss %.4f acc %6.2f%%  lr %.3g  %s  "
                "%.0f img/s  data wait %.2fs\n",
                (long long)r.epoch, (long long)cfg.epochs, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.lr,
                format_duration(r.seconds).c_str(), r.images_per_second, r.data_wait);
    std::fflush(stdout);
    save_checkpoint(cfg.out, cfg, epoch + 1, *model, *opt, sched.get(), history, extra);
    write_metrics(result, extra);
    if (cfg.stop_after > 0 && epoch + 1 >= cfg.stop_after && epoch + 1 < cfg.epochs) {
      std::printf("stopping after epoch %lld (--stop-after); continue with --resume %s/checkpoint.safetensors\n",
                  (long long)(epoch + 1), cfg.out.c_str());
      return result;
    }
  }
  result.finished = true;
  for (const EpochRecord& r : result.history) {
    result.seconds += r.seconds;
    if (r.test_acc > result.best_test_acc) result.best_test_acc = r.test_acc, result.best_epoch = r.epoch;
  }
  if (last_eval.predictions.empty()) last_eval = evaluate(*model, test_loader);  // resumed a finished run
  write_metrics(result, extra);
  write_pictures(result, test_set, last_eval.predictions);
  return result;
}

}  // namespace minidl::train

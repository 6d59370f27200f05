// bench_train: the whole-epoch training benchmark. It does the work of one epoch of train_cifar's
// default recipe as a user runs it (data loading and augmentation included) and times it:
//   - the model of the zoo built as train_cifar builds it (apps/train/setup.h), batch 128,
//     SGD nesterov + OneCycle, label smoothing 0.1: every number from train::Recipe's defaults;
//     the schedule is the default 20-epoch one, so the steps are the first ones of a real run
//   - the training images from the same DataLoader train_cifar uses (pad-4 crop + flip +
//     normalize on --workers loader threads, a seeded shuffle), --steps steps (default: one
//     epoch, 391 steps over 50,000 images; more steps run into the next epoch)
//   - then one test pass over the test set (eval mode, no autograd, batches of 500 as
//     train_cifar's test loader)
// The training steps and the test pass are timed separately with steady_clock; images/s leaves
// out the first --warmup steps (allocator and cache warm-up). Loading the files from disk and
// building the model are not timed. apps/bench_train_torch.py is the PyTorch twin (same models,
// data, recipe and JSON fields) and tools/bench_train.sh alternates the two and prints the table
// of docs/performance.md:
//
//   bench_train --model skipnet48k --norm group --threads 2 --json minidl.json
//   bench_train --steps 3 --test-images 500          a quick check that it runs
//
// On a busy machine run with OMP_WAIT_POLICY=passive (see apps/bench_ops.cpp for why).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/train/config.h"
#include "apps/train/evaluate.h"
#include "apps/train/setup.h"
#include "apps/train/step.h"
#include "core/autograd.h"
#include "core/cuda_context.h"
#include "core/parallel.h"
#include "data/cifar10.h"
#include "data/dataloader.h"
#include "kernels/loss.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"

using namespace minidl;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Options {
  train::Recipe recipe;  // model, norm, seed and data are set from the flags; the rest are defaults
  std::string device = "cpu", json_path, commit;
  int64_t steps = 0;         // 0: one epoch
  int64_t warmup = 5;        // steps left out of images/s
  int64_t test_images = -1;  // -1: the whole test set
  int threads = 0, workers = 2;
};

constexpr int64_t kTestBatch = 500;  // train_cifar's test loader (apps/train/run.cpp)

// The recipe that was run, in both programs' JSON: the table script compares only equal recipes.
json recipe_json(const train::Recipe& r, int64_t steps_per_epoch) {
  return {{"batch_size", r.batch_size},
          {"optimizer", r.optimizer},
          {"nesterov", r.nesterov},
          {"lr", r.lr},
          {"momentum", r.momentum},
          {"weight_decay", r.weight_decay},
          {"scheduler", r.scheduler},
          {"max_lr", r.max_lr},
          {"pct_start", r.pct_start},
          {"div_factor", r.div_factor},
          {"final_div_factor", r.final_div_factor},
          {"anneal", r.anneal},
          {"schedule_epochs", r.epochs},
          {"steps_per_epoch", steps_per_epoch},
          {"label_smoothing", r.label_smoothing},
          {"augment", r.augment},
          {"test_batch_size", kTestBatch}};
}

int run(const Options& o) {
  train::Recipe r = o.recipe;
  r.validate();
  MINIDL_CHECK(r.norm == "batch" || r.norm == "group" || r.norm == "layer", "--norm must be batch, group or layer, "
               "got '", r.norm, "'");
  if (o.threads > 0) set_num_threads(o.threads);
  const Device device = train::pick_device(o.device);

  // Disk reads are not part of an epoch: they happen once per run, before the clock starts.
  const data::Cifar10 train_set = data::load_cifar10(r.data, data::Split::Train);
  const data::Cifar10 test_set = data::load_cifar10(r.data, data::Split::Test, o.test_images);
  MINIDL_CHECK(train_set.size() > 0 && test_set.size() > 0, "--data '", r.data, "': no images to train or test on");
  // The same loaders as train_cifar (apps/train/run.cpp, load_data).
  data::DataLoader train_loader(train_set, data::DataLoaderOptions().batch_size(r.batch_size).seed(r.seed)
                                               .workers(o.workers).augment(train::augment_options(r.augment, r.pad_fill))
                                               .device(device));
  data::DataLoader test_loader(test_set, data::DataLoaderOptions().batch_size(kTestBatch).shuffle(false).workers(o.workers)
                                             .device(device));

  auto model = train::make_recipe_model(r);
  model->to(device);
  auto opt = train::make_optimizer(r, model->parameters());
  const int64_t per_epoch = train_loader.num_batches();
  auto sched = train::make_scheduler(r, *opt, per_epoch);
  const int64_t steps = o.steps > 0 ? o.steps : per_epoch;
  MINIDL_CHECK(steps <= r.epochs * per_epoch, "--steps ", steps, " is longer than the ", r.epochs, "-epoch schedule (",
               r.epochs * per_epoch, " steps)");
  const int64_t warmup = o.warmup < steps ? o.warmup : 0;
  const models::ModelInfo& info = models::model_info(r.model);
  const int64_t groups = r.norm == "group" ? (r.groups > 0 ? r.groups : info.default_groups) : r.norm == "layer" ? 1 : 0;
  const double dropout = r.dropout >= 0 ? r.dropout : info.default_dropout;
  const std::string device_name = device.is_cuda() ? cuda::device_name() : "cpu";
  std::printf("bench_train: %s, %s norm, %s params, %s (%d threads), %d loader workers, %lld steps of batch %lld "
              "+ a test pass over %s images\n",
              r.model.c_str(), r.norm.c_str(), nn::with_commas(model->num_parameters()).c_str(), device_name.c_str(),
              get_num_threads(), o.workers, (long long)steps, (long long)r.batch_size,
              nn::with_commas(test_set.size()).c_str());
  std::fflush(stdout);

  // Training: exactly train_cifar's step (apps/train/run.cpp, train_one_epoch), including the
  // loss read-back and the accuracy count it does for its progress bar.
  model->train();
  double loss_sum = 0, data_wait = 0, warm_seconds = 0;
  int64_t correct = 0, seen = 0, warm_images = 0, epoch = 0;
  data::Batch b;
  const auto t_train = Clock::now();
  train_loader.start_epoch(epoch);
  for (int64_t step = 0; step < steps; ++step) {
    if (step == warmup) warm_seconds = since(t_train), warm_images = seen;
    if (!train_loader.next(b)) {  // more steps than an epoch: go on into the next one
      data_wait += train_loader.wait_seconds();
      train_loader.start_epoch(++epoch);
      MINIDL_CHECK(train_loader.next(b), "the training loader produced no batch");
    }
    const train::StepResult s = train::train_step(*model, *opt, sched.get(), b.images, b.labels, r.label_smoothing);
    MINIDL_CHECK(s.stepped, "the training loss is ", s.loss, " at step ", step + 1);
    loss_sum += s.loss * static_cast<double>(b.size());
    correct += train::count_correct(s.output, b.labels);
    seen += b.size();
  }
  if (device.is_cuda()) cuda::synchronize();
  const double train_seconds = since(t_train);
  data_wait += train_loader.wait_seconds();
  train_loader.stop();  // the workers may be preparing the rest of the epoch: not the test pass's cost

  // The test pass: train_cifar's evaluate() without the per-sample bookkeeping it keeps for its
  // pictures (a file-writing concern, not an epoch's arithmetic).
  double test_loss = 0;
  int64_t test_correct = 0, test_seen = 0;
  const auto t_test = Clock::now();
  {
    model->eval();
    NoGradGuard no_grad;
    test_loader.start_epoch(0);
    while (test_loader.next(b)) {
      Tensor out = (*model)(b.images);
      test_loss += ops::cross_entropy(out, b.labels).item() * static_cast<double>(b.size());
      test_correct += train::count_correct(out, b.labels);
      test_seen += b.size();
    }
    if (device.is_cuda()) cuda::synchronize();
    model->train();
  }
  const double test_seconds = since(t_test);

  const double timed_seconds = train_seconds - warm_seconds;
  const double ips = timed_seconds > 0 ? static_cast<double>(seen - warm_images) / timed_seconds : 0.0;
  json j = {{"framework", "minidl"},
            {"model", r.model},
            {"norm", r.norm},
            {"groups", groups},
            {"dropout", dropout},
            {"params", model->num_parameters()},
            {"device", device_name},
            {"threads", get_num_threads()},
            {"workers", o.workers},
            {"seed", r.seed},
            {"steps", steps},
            {"warmup_steps", warmup},
            {"train_images", seen},
            {"test_images", test_seen},
            {"train_seconds", train_seconds},
            {"test_seconds", test_seconds},
            {"total_seconds", train_seconds + test_seconds},
            {"images_per_second", ips},
            {"data_wait_seconds", data_wait},
            {"train_loss", loss_sum / static_cast<double>(seen)},
            {"train_acc", 100.0 * static_cast<double>(correct) / static_cast<double>(seen)},
            {"test_loss", test_loss / static_cast<double>(test_seen)},
            {"test_acc", 100.0 * static_cast<double>(test_correct) / static_cast<double>(test_seen)},
            {"recipe", recipe_json(r, per_epoch)},
            {"commit", o.commit}};
  std::printf("train %.2f s (%lld steps, %lld images; %.0f img/s after %lld warm-up steps; data wait %.2f s)\n"
              "test  %.2f s (%lld images)\ntotal %.2f s\n"
              "train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%\n",
              train_seconds, (long long)steps, (long long)seen, ips, (long long)warmup, data_wait, test_seconds,
              (long long)test_seen, train_seconds + test_seconds, j["train_loss"].get<double>(),
              j["train_acc"].get<double>(), j["test_loss"].get<double>(), j["test_acc"].get<double>());
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path);
    MINIDL_CHECK(f.good(), "--json: cannot write '", o.json_path, "'");
    f << j.dump(1) << "\n";
    MINIDL_CHECK(f.good(), "--json: writing '", o.json_path, "' failed");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times one epoch of train_cifar's default recipe (training steps with data loading and augmentation, "
               "then a test pass).\nCompare with apps/bench_train_torch.py; tools/bench_train.sh runs both."};
  Options o;
  std::string names;
  for (const auto& n : models::model_names()) names += (names.empty() ? "" : ", ") + n;
  o.recipe.model = "skipnet48k";
  app.add_option("--model", o.recipe.model, "Model: " + names)->capture_default_str();
  app.add_option("--norm", o.recipe.norm, "Normalization: batch, group or layer")->capture_default_str();
  app.add_option("--steps", o.steps, "Training steps (0: one epoch, 391 steps at batch 128)")
      ->capture_default_str()->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  app.add_option("--warmup", o.warmup, "Steps left out of the images/s figure (not of train_seconds)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--test-images", o.test_images, "Test on the first N test images only (-1: all 10,000)")
      ->capture_default_str()->check(CLI::Range(int64_t(-1), int64_t(1) << 40));
  app.add_option("--threads", o.threads, "CPU threads (0: OpenMP's default, all cores)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--workers", o.workers, "Data loader threads (0: batches are prepared by the training thread)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--data", o.recipe.data, "CIFAR-10 binary folder (cifar-10-batches-bin) or its parent")
      ->capture_default_str();
  app.add_option("--seed", o.recipe.seed, "Seed of initialization, shuffling, augmentation and dropout")
      ->capture_default_str();
  app.add_option("--device", o.device, "cpu, cuda or auto")->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--json", o.json_path, "Write the results to this JSON file");
  app.add_option("--commit", o.commit, "Recorded in the JSON as the minidl commit (tools/bench_train.sh passes git's)");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench_train: error: %s\n", e.what());
    return 1;
  }
}

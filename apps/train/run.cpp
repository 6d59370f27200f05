#include "apps/train/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "apps/train/checkpoint.h"
#include "apps/train/evaluate.h"
#include "apps/train/outputs.h"
#include "apps/train/progress.h"
#include "apps/train/resume.h"
#include "apps/train/run_folder.h"
#include "apps/train/setup.h"
#include "apps/train/signals.h"
#include "apps/train/step.h"
#include "core/cuda_context.h"
#include "core/parallel.h"
#include "data/dataloader.h"
#include "kernels/loss.h"
#include "layers/summary.h"
#include "optim/lr_finder.h"

namespace minidl::train {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Everything one run holds while it trains.
struct Run {
  TrainConfig cfg;
  RunFolderClaim claim;  // the run folder, held while the run lasts
  double session_seconds = 0;  // epochs trained by this process, for the run's ETA
  int64_t session_epochs = 0;
  Recipe effective;  // the recipe with the LR finder's pick applied (what the optimizer uses)
  Device device = Device::cpu();
  std::unique_ptr<data::Cifar10> train_set, test_set;
  std::unique_ptr<data::DataLoader> train_loader, test_loader;
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<optim::Optimizer> opt;
  std::unique_ptr<optim::LRScheduler> sched;
  Checkpoint ckpt;
  nlohmann::json extra = nlohmann::json::object();
  nlohmann::json history = nlohmann::json::array();
  RunResult result;
};

void load_data(Run& run) {
  Recipe& r = run.cfg.recipe;
  run.train_set = std::make_unique<data::Cifar10>(data::load_cifar10(r.data, data::Split::Train, r.limit_train));
  run.test_set = std::make_unique<data::Cifar10>(data::load_cifar10(r.data, data::Split::Test));
  const std::string fingerprint = run.train_set->fingerprint + ":" + run.test_set->fingerprint;
  if (r.data_fingerprint.empty()) {
    r.data_fingerprint = fingerprint;  // a new run (or a checkpoint from before fingerprints)
  } else {
    MINIDL_CHECK(r.data_fingerprint == fingerprint, "--data '", r.data, "': these files are not the images this run "
                 "was trained on (fingerprint ", fingerprint, ", saved ", r.data_fingerprint, "); point --data at "
                 "the dataset the run started with");
  }
  run.result.train_images = run.train_set->size();
  run.result.test_images = run.test_set->size();
  std::printf("data: %s train / %s test images from %s\n", nn::with_commas(run.train_set->size()).c_str(),
              nn::with_commas(run.test_set->size()).c_str(), run.train_set->folder.c_str());
  for (const data::Cifar10* s : {run.train_set.get(), run.test_set.get()}) {
    const std::string note = data::records_note(*s);
    if (!note.empty()) std::printf("note: not the official CIFAR-10 counts: %s\n", note.c_str());
  }
  if (r.limit_train > run.train_set->size())
    std::printf("note: --limit-train %lld but only %lld training images exist\n", (long long)r.limit_train,
                (long long)run.train_set->size());
  const auto device = run.device;
  run.train_loader = std::make_unique<data::DataLoader>(
      *run.train_set, data::DataLoaderOptions().batch_size(r.batch_size).seed(r.seed).workers(run.cfg.env.workers)
                          .augment(augment_options(r.augment, r.pad_fill)).device(device));
  run.test_loader = std::make_unique<data::DataLoader>(
      *run.test_set, data::DataLoaderOptions().batch_size(500).shuffle(false).workers(run.cfg.env.workers).device(device));
  MINIDL_CHECK(run.train_set->size() > 0 && run.test_set->size() > 0, "--data '", r.data,
               "': no images to train or test on");
}

std::pair<Tensor, Tensor> step_loss(Run& run, data::Batch& b) {
  Tensor out = (*run.model)(b.images);
  return {out, ops::cross_entropy(out, b.labels, run.cfg.recipe.label_smoothing)};
}

// The LR range test (new runs), or its saved pick (resumed runs); applied to run.effective.
void find_lr(Run& run, bool resuming) {
  Recipe& eff = run.effective;
  double lr = 0;
  if (resuming) {
    const auto& saved = run.extra["lr_finder"];
    MINIDL_CHECK(saved.is_object() && saved.contains("suggested_lr") && saved["suggested_lr"].is_number(),
                 run.ckpt.path, ": the recipe uses --lr-find but the checkpoint holds no LR finder result");
    lr = saved["suggested_lr"].get<double>();
  } else {
    data::Batch b;
    int64_t epoch = 0;
    run.train_loader->start_epoch(epoch);
    constexpr int64_t kIters = 100;
    std::printf("LR finder: %lld steps from lr 1e-6 to 10 (its pick becomes %s)\n", (long long)kIters,
                eff.scheduler == "onecycle" ? "--max-lr" : "--lr");
    std::fflush(stdout);
    ProgressBar bar("lr", 1, 1, kIters);
    int64_t steps = 0;
    double loss_sum = 0;
    auto next_loss = [&] {
      check_stop();
      if (!run.train_loader->next(b)) {
        run.train_loader->start_epoch(++epoch);
        run.train_loader->next(b);
      }
      Tensor loss = step_loss(run, b).second;
      loss_sum += loss.item();
      ++steps;
      bar.update(steps, steps * b.size(), loss_sum / static_cast<double>(steps), /*accuracy: not shown*/ -1);
      return loss;
    };
    run.model->train();
    const auto found = optim::lr_find(*run.opt, next_loss, run.model->state_dict(),
                                      optim::LRFinderOptions().start_lr(1e-6).end_lr(10).num_iter(kIters));
    bar.finish();
    MINIDL_CHECK(found.suggested_index >= 0, "LR finder: the loss curve is too short to suggest a learning rate (",
                 found.lrs.size(), " points before divergence); set --lr / --max-lr yourself");
    std::printf("LR finder: suggested learning rate %.3g (steepest descent of the loss, %zu points%s)\n",
                found.suggested_lr, found.lrs.size(), found.diverged ? ", stopped at divergence" : "");
    write_lr_finder(run.cfg.env.out, found);
    std::printf("LR finder: the curve is in %s/lr_finder.png (and .csv); training uses %.3g as %s\n",
                run.cfg.env.out.c_str(), found.suggested_lr, eff.scheduler == "onecycle" ? "--max-lr" : "--lr");
    lr = found.suggested_lr;
    run.extra["lr_finder"] = {{"suggested_lr", lr}, {"lrs", found.lrs}, {"losses", found.losses}};
  }
  (eff.scheduler == "onecycle" ? eff.max_lr : eff.lr) = lr;
  run.opt->set_lr(eff.lr);
  run.result.suggested_lr = lr;
}

// A NaN or infinite loss: stop, saying where, what was kept and what to try.
[[noreturn]] void diverged(const Run& run, int64_t epoch, const std::string& where) {
  const std::string kept = epoch > 0 ? "the checkpoint of epoch " + std::to_string(epoch) + " in " + run.cfg.env.out +
                                           " is kept"
                                     : "no epoch was completed, so there is no checkpoint";
  MINIDL_FAIL("training diverged: ", where, " (", kept, "). Remedies: a lower peak learning rate (--max-lr with "
              "onecycle, else --lr), a longer warm-up (--pct-start) or a larger --div-factor, less --weight-decay; "
              "with --lr-find, set the rate yourself instead");
}

// After the first kPaceBatches batches of this process: when the pace says the rest of the run
// takes hours, say so once, with what to do about it (a run is never stopped for it).
constexpr int64_t kPaceBatches = 20;
void warn_if_long(const Run& run, int64_t epoch, double seconds) {
  const int64_t per_epoch = run.train_loader->num_batches();
  const double left = seconds / kPaceBatches *
                      static_cast<double>(per_epoch * (run.cfg.recipe.epochs - epoch) - kPaceBatches);
  if (left < 2 * 3600) return;
  std::printf("\r\033[Knote: at this pace (%.2f s per batch on %s) the run needs about %s more (test passes "
              "not counted); Ctrl-C stops it resumably%s\n",
              seconds / kPaceBatches, run.result.device.c_str(), format_duration(left).c_str(),
              run.device.is_cuda() ? "" : ", and a GPU (--device cuda) is much faster");
  std::fflush(stdout);
}

// One epoch of training; returns its record without the test numbers.
EpochRecord train_one_epoch(Run& run, int64_t epoch) {
  const auto t0 = Clock::now();
  run.model->train();
  run.train_loader->start_epoch(epoch);
  ProgressBar bar("epoch", epoch + 1, run.cfg.recipe.epochs, run.train_loader->num_batches());
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, batches = 0;
  data::Batch b;
  double lr_first = 0, lr_last = 0;
  while (run.train_loader->next(b)) {
    check_stop();
    lr_last = run.opt->lr();  // the rate this step uses: the schedule steps after the optimizer
    if (batches == 0) lr_first = lr_last;
    const StepResult s = train_step(*run.model, *run.opt, run.sched.get(), b.images, b.labels,
                                    run.cfg.recipe.label_smoothing);
    const double l = s.loss;
    if (!s.stepped) {
      bar.finish();
      diverged(run, epoch, "the training loss is " + std::to_string(l) + " at epoch " + std::to_string(epoch + 1) +
                               ", batch " + std::to_string(batches + 1));
    }
    loss_sum += l * static_cast<double>(b.size());
    correct += count_correct(s.output, b.labels);
    seen += b.size();
    ++batches;
    bar.update(batches, seen, loss_sum / static_cast<double>(seen), 100.0 * static_cast<double>(correct) / static_cast<double>(seen));
    if (batches == kPaceBatches && run.session_epochs == 0) warn_if_long(run, epoch, since(t0));
  }
  bar.finish();
  EpochRecord r;
  r.epoch = epoch + 1;
  r.train_loss = loss_sum / static_cast<double>(seen);
  r.train_acc = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
  r.lr_first = lr_first;
  r.lr = lr_last;
  r.images_per_second = static_cast<double>(seen) / since(t0);
  r.data_wait = run.train_loader->wait_seconds();
  return r;
}

// The files written once, at the end: curves, predictions and the pictures of the final model,
// then metrics.json with finished = true (last, so "finished" means every file is there).
void finish(Run& run, const EvalResult& final_eval) {
  RunResult& res = run.result;
  res.finished = true;
  res.flip_tta_acc = final_eval.flip_tta_accuracy;
  for (const EpochRecord& r : res.history) res.seconds += r.seconds;
  std::tie(res.best_test_acc, res.best_epoch) = best_epoch(res.history);
  write_curves(res);
  write_evaluation_files(res.out_dir, res.recipe.model + ", " + res.recipe.norm + " norm", *run.test_set, final_eval);
  write_metrics(res);
}

bool final_files_complete(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "predictions.csv", ec)) return false;
  try {
    std::ifstream f(fs::path(dir) / "metrics.json");
    const auto j = nlohmann::json::parse(f);
    return j.at("final").at("finished").get<bool>();
  } catch (const std::exception&) {
    return false;
  }
}

// Where everything went, once a run has ended.
void print_summary(const RunResult& r) {
  std::printf("done: %s (%s norm) in %s: final test accuracy %.2f%% (%.2f%% with flip test-time augmentation), "
              "best %.2f%% at epoch %lld\n",
              r.recipe.model.c_str(), r.recipe.norm.c_str(), format_duration(r.seconds).c_str(),
              r.history.empty() ? 0.0 : r.history.back().test_acc, r.flip_tta_acc, r.best_test_acc,
              (long long)r.best_epoch);
  std::printf("wrote %s/: metrics.csv, metrics.json, checkpoint.safetensors, model.safetensors, predictions.csv, "
              "loss.png, accuracy.png, per_class_accuracy.png, confusion_matrix.png, misclassified.png%s\n",
              r.out_dir.c_str(), r.recipe.lr_find ? ", lr_finder.png, lr_finder.csv" : "");
  std::fflush(stdout);
}

void print_stop_message(const Run& run, int64_t epochs_done, const std::string& why) {
  const Environment& env = run.cfg.env;
  const std::string target = env.resume_target.empty() ? env.out : env.resume_target;
  if (epochs_done > 0)
    std::printf("%s: the last complete checkpoint is epoch %lld of %lld in %s/checkpoint.safetensors\n"
                "continue with: %s --resume %s%s\n",
                why.c_str(), (long long)epochs_done, (long long)run.cfg.recipe.epochs, env.out.c_str(),
                shell_quote(env.program).c_str(), shell_quote(absolute_path(target)).c_str(),
                environment_flags(env).c_str());
  else
    std::printf("%s before the first epoch ended: nothing was saved; start again with: %s\n", why.c_str(),
                command_for(run.cfg.recipe, env).c_str());
  std::fflush(stdout);
}

// Checks the config; for a resumed run reads the checkpoint and takes its recipe's data.
void prepare(Run& run, const TrainConfig& given) {
  run.cfg = given;
  TrainConfig& cfg = run.cfg;
  cfg.recipe.validate();
  cfg.env.validate();
  MINIDL_CHECK(cfg.recipe.norm != "all", "run_training runs one norm; --norm all is handled by train_cifar");
  MINIDL_CHECK(!cfg.env.out.empty(), "run_training: no output folder");
  if (!cfg.resume.empty()) {
    run.ckpt = read_checkpoint(cfg.resume);
    const auto diffs = recipe_differences(run.ckpt.recipe, cfg.recipe, /*allow_more_epochs=*/true);
    MINIDL_CHECK(diffs.empty(), cfg.resume, ": the recipe differs from the saved run: ", diffs.front());
    if (cfg.recipe.epochs > run.ckpt.recipe.epochs) check_extension(run.ckpt, cfg.recipe.epochs);
    cfg.recipe.data_fingerprint = run.ckpt.recipe.data_fingerprint;
    run.extra = run.ckpt.extra;
    run.history = run.ckpt.history;
  } else {
    cfg.recipe.data = absolute_path(cfg.recipe.data);
  }
  if (cfg.env.threads > 0) set_num_threads(cfg.env.threads);
  // Claimed for the run's life (a --resume of a run that is still going is refused), and found
  // writable before any data is read or any epoch trained.
  run.claim = claim_run_folder(cfg.env.out, cfg.resume.empty() ? "the run folder" : "--resume");
  check_writable(cfg.env.out);
  if (const int stale = remove_stale_temp_files(cfg.env.out))
    std::printf("removed %d temporary file(s) left in %s by an interrupted write\n", stale, cfg.env.out.c_str());
}

// The device, the data, the model and the optimizer (with the LR finder's pick, when asked).
void build(Run& run) {
  const TrainConfig& cfg = run.cfg;
  run.device = pick_device(cfg.env.device);
  load_data(run);
  run.model = make_recipe_model(cfg.recipe);
  run.model->to(run.device);
  RunResult& result = run.result;
  result.recipe = cfg.recipe;
  result.env = cfg.env;
  result.out_dir = cfg.env.out;
  result.device = run.device.is_cuda() ? cuda::device_name() : "cpu (" + std::to_string(get_num_threads()) + " threads)";
  result.params = run.model->num_parameters();
  run.effective = cfg.recipe;
  run.opt = make_optimizer(run.effective, run.model->parameters());
  if (cfg.recipe.lr_find) find_lr(run, !cfg.resume.empty());
}

// A resumed run: restores the checkpoint and returns the epoch to continue from; a run that had
// already ended gets its missing final files (or nothing) and returns -1.
int64_t restore(Run& run) {
  const TrainConfig& cfg = run.cfg;
  RunResult& result = run.result;
  restore_checkpoint(run.ckpt, *run.model, *run.opt, run.sched.get());
  const int64_t start = run.ckpt.epoch;
  for (const auto& h : run.history) result.history.push_back(epoch_record_from_json(h, cfg.resume));
  // A crash between the checkpoint's rename and the model file's leaves the latter behind.
  const std::string model_file = cfg.env.out + "/model.safetensors";
  if (model_file_epoch(model_file) != run.ckpt.epoch) {
    std::printf("model.safetensors is behind its checkpoint (epoch %lld): rewriting it\n", (long long)run.ckpt.epoch);
    save_model_file(cfg.env.out, cfg.recipe, run.ckpt.epoch, *run.model);
  }
  if (start < cfg.recipe.epochs) {
    std::printf("resuming %s from epoch %lld of %s\n", cfg.recipe.model.c_str(), (long long)start, cfg.resume.c_str());
    return start;
  }
  result.already_finished = true;
  if (!final_files_complete(cfg.env.out)) {
    std::printf("run %s ended (epoch %lld of %lld) before its final files were written: writing them\n",
                cfg.env.out.c_str(), (long long)start, (long long)cfg.recipe.epochs);
    finish(run, evaluate(*run.model, *run.test_loader, /*flip_tta=*/true));
  } else {
    std::printf("run %s already finished (%lld of %lld epochs): nothing to train\n", cfg.env.out.c_str(),
                (long long)start, (long long)cfg.recipe.epochs);
    result.finished = true;
    std::tie(result.best_test_acc, result.best_epoch) = best_epoch(result.history);
    for (const EpochRecord& r : result.history) result.seconds += r.seconds;
  }
  return -1;
}

// Epoch `epoch` (0-based): train, test, log, checkpoint. Returns false when the run stops here
// (its last epoch, which also writes the final files, or --stop-after).
bool run_epoch(Run& run, int64_t epoch) {
  const TrainConfig& cfg = run.cfg;
  RunResult& result = run.result;
  const auto t0 = Clock::now();
  EpochRecord r = train_one_epoch(run, epoch);
  const bool last = epoch + 1 == cfg.recipe.epochs;
  const EvalResult eval = evaluate(*run.model, *run.test_loader, /*flip_tta=*/last, epoch + 1, cfg.recipe.epochs);
  if (!std::isfinite(eval.loss))  // e.g. batch norm's running statistics overflowed
    diverged(run, epoch, "the test loss is " + std::to_string(eval.loss) + " after epoch " + std::to_string(epoch + 1));
  if (run.sched) run.sched->step_epoch(eval.loss);
  r.test_loss = eval.loss;
  r.test_acc = eval.accuracy;
  r.seconds = since(t0);
  result.history.push_back(r);
  run.history.push_back(to_json(r));
  char lr[48];  // the rate(s) the epoch trained with
  if (r.lr_first == r.lr) std::snprintf(lr, sizeof lr, "%.3g", r.lr);
  else std::snprintf(lr, sizeof lr, "%.3g..%.3g", r.lr_first, r.lr);
  // The rest of the run at the mean pace of this session's epochs (not the saved ones: a resumed
  // run may be on another machine).
  run.session_seconds += r.seconds;
  ++run.session_epochs;
  const double left = run.session_seconds / static_cast<double>(run.session_epochs) *
                      static_cast<double>(cfg.recipe.epochs - r.epoch);
  const std::string eta = last ? "" : "  run ETA " + format_duration(left);
  std::printf("epoch %3lld/%lld  train loss %.4f acc %6.2f%%  test loss %.4f acc %6.2f%%  lr %s  %s  "
              "%.0f img/s  data wait %.2fs%s\n",
              (long long)r.epoch, (long long)cfg.recipe.epochs, r.train_loss, r.train_acc, r.test_loss, r.test_acc,
              lr, format_duration(r.seconds).c_str(), r.images_per_second, r.data_wait, eta.c_str());
  if (last)
    std::printf("final test accuracy with flip test-time augmentation: %.2f%% (without: %.2f%%)\n",
                eval.flip_tta_accuracy, eval.accuracy);
  std::fflush(stdout);
  save_checkpoint(cfg.env.out, cfg.recipe, epoch + 1, *run.model, *run.opt, run.sched.get(), run.history, run.extra);
  if (last) {
    finish(run, eval);
    return false;
  }
  write_metrics(result);
  if (cfg.env.stop_after > 0 && epoch + 1 >= cfg.env.stop_after) {
    print_stop_message(run, epoch + 1, "stopped after epoch " + std::to_string(epoch + 1) + " (--stop-after)");
    return false;
  }
  return true;
}

}  // namespace

RunResult run_training(const TrainConfig& config) {
  Run run;
  prepare(run, config);
  try {
    build(run);  // the LR finder can be stopped too
  } catch (const Interrupted& e) {
    print_stop_message(run, run.ckpt.epoch, e.what());
    throw;
  }
  const Recipe& recipe = run.cfg.recipe;
  if (recipe.epochs == 0) {
    std::printf("--epochs 0: nothing to train\n");
    return run.result;
  }
  run.sched = make_scheduler(run.effective, *run.opt, run.train_loader->num_batches());
  int64_t epoch = 0;
  if (!run.cfg.resume.empty() && (epoch = restore(run)) < 0) return run.result;
  std::printf("training %s (%s norm, %s params) on %s for %lld epochs: %s, batch %lld, %s\n", recipe.model.c_str(),
              recipe.norm.c_str(), nn::with_commas(run.result.params).c_str(), run.result.device.c_str(),
              (long long)recipe.epochs, recipe.optimizer.c_str(), (long long)recipe.batch_size,
              recipe.scheduler.c_str());
  std::fflush(stdout);
  try {
    while (run_epoch(run, epoch)) ++epoch;
  } catch (const Interrupted& e) {
    print_stop_message(run, epoch, e.what());  // epoch: the epochs completed
    throw;
  }
  if (run.result.finished) print_summary(run.result);
  return run.result;
}

}  // namespace minidl::train

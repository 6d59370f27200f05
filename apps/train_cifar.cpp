// train_cifar: trains a model of the zoo on CIFAR-10 and writes its metrics, checkpoints and pictures.
//
//   train_cifar                                   the defaults: the best 50k model, batch norm, 20 epochs
//   train_cifar --model skipnet48k --norm all     the three norms, then comparison.md
//   train_cifar --resume runs/x                   continue a stopped run exactly (apps/train/resume.h)
//   train_cifar --evaluate runs/x                 test-set numbers of saved weights
// Run with --help for every flag and its default. Files written into the run folder: see
// apps/train/outputs.h and apps/train/checkpoint.h; folders: apps/train/run_folder.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "apps/train/evaluate_saved.h"
#include "apps/train/model_recipes.h"
#include "apps/train/outputs.h"
#include "apps/train/resume.h"
#include "apps/train/run.h"
#include "apps/train/run_folder.h"
#include "apps/train/setup.h"
#include "apps/train/signals.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"

using namespace minidl;

namespace {

const char* kFooter = R"(
Run folders: without --out a run writes to runs/<model>-<norm>, or to runs/<model>-<norm>-2, -3, ...
when that folder holds an earlier run: a finished run is never overwritten. --out DIR that holds a
run is refused unless --overwrite is given (which deletes that run's files first). A run claims its
folder while it lasts (.train_cifar.lock): a folder another live run holds is skipped or refused,
even with --overwrite. The folder is checked to be writable before any data is read.

Resume: --resume RUN_FOLDER (or its checkpoint.safetensors) continues the saved run exactly, in its
own folder, from any working directory: the recipe (model, optimizer, schedule, data, seed, ...) is
the saved one. A recipe flag given with it must match the saved value; the one change allowed is
more --epochs for a run whose schedule is not onecycle. Resuming a finished run says so and exits 0.
--resume of a --norm all folder continues each norm in turn.

Stopping: Ctrl-C, SIGTERM or SIGHUP stops after the current batch (during a test pass: after it,
so the epoch just trained is checkpointed), keeps the last complete checkpoint, prints the command
that resumes (with the --device, --threads and --workers given) and exits 130 (SIGINT), 143
(SIGTERM) or 129 (SIGHUP); a second signal exits at once.

Evaluate: --evaluate RUN_FOLDER, model.safetensors or checkpoint.safetensors [--data DIR] [--out DIR]
prints the test accuracy, per-class accuracy and confusion matrix of saved weights and writes
predictions.csv (index, true label, predicted label, ten logits) into RUN_FOLDER/evaluation (or
--out, which must not hold a training run). The saved recipe is the model: recipe flags are refused.

The lr logged per epoch is the rate its first and last steps trained with ("lr 0.008..0.15").

Every run also writes predictions.csv. The plateau scheduler steps on the test loss (there is no
validation split), so its test numbers are not held out; onecycle and step do not look at them.)";

int run_main(int argc, char** argv) {
  train::Recipe r;
  train::Environment env;
  env.program = argv[0];
  if (env.program.find('/') != std::string::npos) env.program = train::absolute_path(env.program);
  CLI::App app{"Trains a CIFAR-10 model with minidl. Defaults are the project's best 50k-parameter recipe."};
  app.get_formatter()->column_width(34);
  app.footer(std::string(kFooter) + "\n\nFlags each schedule and optimizer reads:\n" + train::flags_read_help() +
             "\nModel recipe defaults (used when the flag is not given):\n" + train::model_defaults_help());
  std::string names;
  for (const auto& n : models::model_names()) names += (names.empty() ? "" : ", ") + n;
  std::string resume, evaluate;
  bool summary = false;
  std::map<std::string, CLI::Option*> recipe_opts;  // recipe key -> its option, to know which were typed
  auto add = [&](const char* key, const std::string& flag, auto& field, const std::string& help) {
    recipe_opts[key] = app.add_option(flag, field, help)->capture_default_str();
  };
  add("model", "--model", r.model, "Model: " + names);
  add("norm", "--norm", r.norm, "Normalization: batch, group, layer, or all (trains the three)");
  add("groups", "--groups", r.groups, "Groups for --norm group (0: the model's default)");
  add("dropout", "--dropout", r.dropout, "Dropout probability (negative: the model's default)");
  add("weight_std", "--weight-std", r.weight_std, "Weight-standardized convolutions (true/false; minidl50k only)");
  add("epochs", "--epochs", r.epochs, "Epochs to train (0 to 100000)");
  add("batch_size", "--batch-size", r.batch_size, "Training batch size");
  add("optimizer", "--optimizer", r.optimizer, "sgd, adam or adamw");
  add("lr", "--lr", r.lr, "Learning rate of --scheduler none, step and plateau (onecycle uses --max-lr)");
  add("momentum", "--momentum", r.momentum, "SGD momentum");
  add("nesterov", "--nesterov", r.nesterov, "Nesterov momentum for SGD (true or false)");
  add("weight_decay", "--weight-decay", r.weight_decay, "Weight decay (L2 for sgd/adam, decoupled for adamw)");
  add("scheduler", "--scheduler", r.scheduler, "LR schedule: none, step, onecycle or plateau (on the test loss)");
  add("max_lr", "--max-lr", r.max_lr, "OneCycle peak learning rate");
  add("pct_start", "--pct-start", r.pct_start, "OneCycle fraction of steps spent warming up, in (0, 1)");
  add("div_factor", "--div-factor", r.div_factor, "OneCycle: initial lr = max_lr / div_factor (> 0)");
  add("final_div_factor", "--final-div-factor", r.final_div_factor, "OneCycle: final lr = initial lr / final_div_factor (> 0)");
  recipe_opts["three_phase"] = app.add_flag("--three-phase", r.three_phase, "OneCycle with a third (annihilation) phase");
  add("anneal", "--anneal", r.anneal, "OneCycle annealing: cos or linear");
  add("step_size", "--step-size", r.step_size, "StepLR: epochs between decays");
  add("gamma", "--gamma", r.gamma, "StepLR / plateau decay factor, in (0, 1]");
  recipe_opts["lr_find"] = app.add_flag("--lr-find", r.lr_find,
      "Run the LR range test first and use its suggestion as --lr (--max-lr with onecycle)");
  add("augment", "--augment", r.augment, "none, flip-crop or flip-crop-cutout (pad-4 crop, flip, 8x8 cutout)");
  add("pad_fill", "--pad-fill", r.pad_fill, "Colour of the crop's padding: zero (black pixels, torchvision's "
      "default) or mean (the dataset's mean colour, 0 after normalization)");
  add("label_smoothing", "--label-smoothing", r.label_smoothing, "Label smoothing of the cross-entropy, in [0, 1)");
  add("seed", "--seed", r.seed, "Seed of initialization, shuffling, augmentation and dropout");
  add("limit_train", "--limit-train", r.limit_train, "Train on the first N images only (-1: all 50,000)");
  add("data", "--data", r.data, "CIFAR-10 binary folder (cifar-10-batches-bin) or its parent; "
      "prepare it with data/prepare_cifar10.sh");
  app.add_option("--device", env.device, "auto (CUDA when a GPU is present), cpu or cuda")->capture_default_str();
  app.add_option("--out", env.out, "Output folder (default: runs/<model>-<norm>, numbered if taken; see below)");
  app.add_flag("--overwrite", env.overwrite, "Let --out replace the run it holds");
  app.add_option("--threads", env.threads, "CPU threads (0: all cores)")->capture_default_str();
  app.add_option("--workers", env.workers, "Data loader threads")->capture_default_str();
  app.add_option("--resume", resume, "Continue the run in this folder (or checkpoint.safetensors) exactly");
  app.add_option("--evaluate", evaluate, "Evaluate the weights of this run folder (or model.safetensors); no training");
  app.add_option("--stop-after", env.stop_after, "Stop after this epoch as if interrupted (to try --resume)")->capture_default_str();
  app.add_flag("--summary", summary, "Print the model summary and exit");
  // --help in groups, in the order a recipe is thought through.
  const std::vector<std::pair<const char*, std::vector<const char*>>> groups = {
      {"Model", {"--model", "--norm", "--groups", "--dropout", "--weight-std"}},
      {"Optimization", {"--epochs", "--batch-size", "--optimizer", "--lr", "--momentum", "--nesterov", "--weight-decay",
                        "--lr-find", "--label-smoothing", "--seed"}},
      {"Schedule", {"--scheduler", "--max-lr", "--pct-start", "--div-factor", "--final-div-factor", "--three-phase",
                    "--anneal", "--step-size", "--gamma"}},
      {"Data and augmentation", {"--data", "--limit-train", "--augment", "--pad-fill"}},
      {"Output and run", {"--out", "--overwrite", "--resume", "--evaluate", "--stop-after", "--summary"}},
      {"Hardware", {"--device", "--threads", "--workers"}}};
  // Booleans read "true" / "false" (what the flags accept), not CLI11's 1 / 0.
  recipe_opts["weight_std"]->default_str(r.weight_std ? "true" : "false");
  recipe_opts["nesterov"]->default_str(r.nesterov ? "true" : "false");
  for (const auto& [group, flags] : groups)
    for (const char* flag : flags) app.get_option(flag)->group(group);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::set<std::string> given;
  for (const auto& [key, opt] : recipe_opts)
    if (opt->count() > 0) given.insert(key);

  if (!evaluate.empty()) {
    MINIDL_CHECK(resume.empty(), "--evaluate and --resume cannot be combined");
    // The saved weights carry their recipe: a recipe flag would be silently ignored.
    for (const auto& key : given)
      if (key != "data")
        for (const train::RecipeField& f : train::recipe_fields())
          MINIDL_CHECK(key != f.key, "--evaluate uses the recipe saved with the weights; ", f.flag,
                       " cannot be given with it (only --data, --out, --device, --threads, --workers)");
    train::EvaluateOptions eo;
    eo.weights = evaluate;
    eo.data = given.count("data") ? r.data : "";
    eo.out = env.out;
    eo.env = env;
    train::evaluate_saved(eo);
    return 0;
  }
  if (summary) {
    r.validate();
    if (r.norm == "all") r.norm = "batch";
    std::cout << nn::summarize(*train::make_recipe_model(r), r.model, {r.batch_size, 3, 32, 32}).str();
    return 0;
  }
  train::install_stop_handlers();
  std::vector<train::TrainConfig> runs;
  std::string norm_all_dir;
  train::RunFolderClaim folder_claim;  // held until every run of this command has ended
  if (!resume.empty()) {
    MINIDL_CHECK(!given.count("norm") || r.norm != "all", "--resume continues one run (or a --norm all folder as a "
                 "whole); drop --norm all");
    const train::ResumePlan plan = train::plan_resume(resume, r, given, env);
    runs = plan.runs;
    norm_all_dir = plan.norm_all_dir;
  } else {
    r.validate();
    env.validate();
    r.data = train::absolute_path(r.data);
    // Every norm's recipe is complete and checked before the run folder is claimed.
    for (const char* norm : {"batch", "group", "layer"}) {
      if (r.norm != "all" && r.norm != norm) continue;
      train::TrainConfig one{r, env, ""};
      one.recipe.norm = norm;
      for (const std::string& d : train::apply_model_defaults(one.recipe, given))
        std::printf("%s norm: the model's default %s\n", norm, d.c_str());
      const std::vector<std::string> unread = train::unread_flags(one.recipe, given);
      if (!unread.empty()) {
        std::string list;
        for (const auto& u : unread) list += "\n  " + u;
        const bool one_flag = unread.size() == 1;
        MINIDL_FAIL("this recipe does not read ", one_flag ? "this flag" : "these flags", "; drop ",
                    one_flag ? "it" : "them", " or change the recipe (--help lists what each schedule reads):", list);
      }
      runs.push_back(one);
    }
    const std::string out = train::prepare_new_run_folder(r, env, &folder_claim);
    for (train::TrainConfig& one : runs) {
      one.env.out = r.norm == "all" ? out + "/" + one.recipe.norm : out;
      if (r.norm == "all") one.env.resume_target = out;
    }
    if (r.norm == "all") {
      std::vector<train::Recipe> recipes;
      for (const auto& one : runs) recipes.push_back(one.recipe);
      train::write_norm_all(out, recipes);
      norm_all_dir = out;
    }
  }
  std::vector<train::RunResult> results;
  for (const train::TrainConfig& c : runs) {
    results.push_back(train::run_training(c));
    if (!results.back().finished) return 0;  // --stop-after: the message says how to continue
  }
  if (!norm_all_dir.empty()) {
    const std::string table = train::write_comparison(norm_all_dir, results);
    std::printf("\n%s\nwrote %s/comparison.md and comparison.png\n", table.c_str(), norm_all_dir.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const train::Interrupted& e) {
    std::fflush(stdout);
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "train_cifar: error: %s\n", e.what());
    return 1;
  }
}

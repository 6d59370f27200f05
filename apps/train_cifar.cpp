// train_cifar: trains a model of the zoo on CIFAR-10 and writes its metrics, checkpoints and pictures.
//
//   train_cifar                                   the defaults: the best 50k model, batch norm, 20 epochs
//   train_cifar --model skipnet48k --norm all     the three norms, then comparison.md
//   train_cifar --resume runs/x/checkpoint.safetensors
// Run with --help for every flag and its default. Files written into --out: see apps/train/outputs.h
// and apps/train/checkpoint.h.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "apps/train/outputs.h"
#include "apps/train/run.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"

using namespace minidl;

int main(int argc, char** argv) {
  train::TrainConfig c;
  CLI::App app{"Trains a CIFAR-10 model with minidl. Defaults are the project's best 50k-parameter recipe."};
  app.get_formatter()->column_width(34);
  std::string names;
  for (const auto& n : models::model_names()) names += (names.empty() ? "" : ", ") + n;
  bool summary = false;
  app.add_option("--model", c.model, "Model: " + names)->capture_default_str();
  app.add_option("--norm", c.norm, "Normalization: batch, group, layer, or all (trains the three)")->capture_default_str();
  app.add_option("--groups", c.groups, "Groups for --norm group (0: the model's default)")->capture_default_str();
  app.add_option("--dropout", c.dropout, "Dropout probability (negative: the model's default)")->capture_default_str();
  app.add_option("--epochs", c.epochs, "Epochs to train")->capture_default_str();
  app.add_option("--batch-size", c.batch_size, "Training batch size")->capture_default_str();
  app.add_option("--optimizer", c.optimizer, "sgd, adam or adamw")->capture_default_str();
  app.add_option("--lr", c.lr, "Learning rate (with --scheduler onecycle: the optimizer's base, see --max-lr)")->capture_default_str();
  app.add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  app.add_option("--nesterov", c.nesterov, "Nesterov momentum for SGD (true or false)")->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay, "Weight decay (L2 for sgd/adam, decoupled for adamw)")->capture_default_str();
  app.add_option("--scheduler", c.scheduler, "LR schedule: none, step, onecycle or plateau")->capture_default_str();
  app.add_option("--max-lr", c.max_lr, "OneCycle peak learning rate")->capture_default_str();
  app.add_option("--pct-start", c.pct_start, "OneCycle fraction of steps spent warming up")->capture_default_str();
  app.add_option("--div-factor", c.div_factor, "OneCycle: initial lr = max_lr / div_factor")->capture_default_str();
  app.add_option("--final-div-factor", c.final_div_factor, "OneCycle: final lr = initial lr / final_div_factor")->capture_default_str();
  app.add_flag("--three-phase", c.three_phase, "OneCycle with a third (annihilation) phase")->capture_default_str();
  app.add_option("--anneal", c.anneal, "OneCycle annealing: cos or linear")->capture_default_str();
  app.add_option("--step-size", c.step_size, "StepLR: epochs between decays")->capture_default_str();
  app.add_option("--gamma", c.gamma, "StepLR / plateau decay factor")->capture_default_str();
  app.add_flag("--lr-find", c.lr_find, "Run the LR range test first and use its suggestion as --lr (--max-lr with onecycle)");
  app.add_option("--augment", c.augment, "none, flip-crop or flip-crop-cutout (pad-4 crop, flip, 8x8 cutout)")->capture_default_str();
  app.add_option("--label-smoothing", c.label_smoothing, "Label smoothing of the cross-entropy")->capture_default_str();
  app.add_option("--device", c.device, "auto (CUDA when a GPU is present), cpu or cuda")->capture_default_str();
  app.add_option("--data", c.data, "CIFAR-10 binary folder (cifar-10-batches-bin) or its parent; "
                 "prepare it with data/prepare_cifar10.sh")->capture_default_str();
  app.add_option("--out", c.out, "Output folder (default: runs/<model>-<norm>)");
  app.add_option("--seed", c.seed, "Seed of initialization, shuffling, augmentation and dropout")->capture_default_str();
  app.add_option("--threads", c.threads, "CPU threads (0: all cores)")->capture_default_str();
  app.add_option("--workers", c.workers, "Data loader threads")->capture_default_str();
  app.add_option("--limit-train", c.limit_train, "Train on the first N images only (-1: all 50,000)")->capture_default_str();
  app.add_option("--resume", c.resume, "Continue the run saved in this checkpoint.safetensors");
  app.add_option("--stop-after", c.stop_after, "Stop after this epoch as if interrupted (to try --resume)")->capture_default_str();
  app.add_flag("--summary", summary, "Print the model summary and exit");
  CLI11_PARSE(app, argc, argv);

  try {
    c.validate();
    if (summary) {
      models::ModelOptions mo;
      mo.norm = nn::parse_norm_kind(c.norm == "all" ? "batch" : c.norm);
      mo.groups = c.groups;
      mo.dropout = c.dropout;
      auto net = models::make_model(c.model, mo);
      std::cout << nn::summarize(*net, c.model, {c.batch_size, 3, 32, 32}).str();
      return 0;
    }
    if (c.out.empty()) c.out = "runs/" + c.model + "-" + c.norm;
    if (c.norm != "all") {
      train::run_training(c);
      return 0;
    }
    std::vector<train::RunResult> runs;
    for (const char* norm : {"batch", "group", "layer"}) {
      train::TrainConfig one = c;
      one.norm = norm;
      one.out = c.out + "/" + norm;
      runs.push_back(train::run_training(one));
    }
    train::write_comparison(c.out, runs);
    std::printf("wrote %s/comparison.md\n", c.out.c_str());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "train_cifar: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

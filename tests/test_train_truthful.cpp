// train_cifar says what it does and does what it says: a flag the recipe does not read is refused,
// the logged learning rate is the one the epoch trained with, a stop during the test pass keeps the
// epoch, --evaluate takes checkpoints and refuses what it would ignore or overwrite, two runs never
// share a folder, and a folder that cannot be written is reported before anything trains.
#include <catch2/catch.hpp>

#include <filesystem>

#include "apps/train/evaluate.h"
#include "apps/train/run.h"
#include "apps/train/run_folder.h"
#include "apps/train/signals.h"
#include "data/dataloader.h"
#include "layers/models/zoo.h"
#include "train_fixture.h"

using namespace minidl;
using namespace minidl::testing;

namespace {
std::string tiny_flags(const fs::path& data) {
  return " --model convnet39k --batch-size 64 --limit-train 256 --device cpu --workers 1 --data " + data.string();
}
bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("a flag the recipe does not read is refused before anything is created", "[train_cifar][errors]") {
  const fs::path data = make_dataset("unread", 60);
  const fs::path out = data / "run";
  // OneCycle sets the rate at every step: --lr used to be dropped without a word.
  CommandResult r = run_command(train_cifar_bin() + tiny_flags(data) + " --lr 0.01 --out " + out.string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "--lr: --scheduler onecycle sets the rate"));
  CHECK(has(r.output, "--max-lr"));
  CHECK_FALSE(fs::exists(out));
  r = run_command(train_cifar_bin() + tiny_flags(data) + " --optimizer adam --momentum 0.8 --step-size 3 --out " +
                  out.string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "--momentum: --optimizer adam has no momentum"));
  CHECK(has(r.output, "--step-size: --scheduler onecycle does not read it"));
  // What each schedule reads is in --help.
  r = run_command(train_cifar_bin() + " --help");
  CHECK(has(r.output, "--scheduler step      --lr, --step-size, --gamma"));
  // An unknown model is reported before the data is looked at.
  r = run_command(train_cifar_bin() + " --model nosuch --data " + (data / "missing").string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "--model 'nosuch': expected one of"));
  fs::remove_all(data);
}

TEST_CASE("the logged learning rate is the one each epoch trained with", "[train_cifar]") {
  const fs::path data = make_dataset("lr_log", 60);
  // StepLR(step 1, gamma 0.5): epoch 1 trains at 0.1, epoch 2 at 0.05 (the rate after the
  // scheduler's step, 0.05 and 0.025, used to be logged instead).
  const CommandResult r = run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 2 --scheduler step --lr 0.1 "
                                      "--step-size 1 --gamma 0.5 --out " + (data / "step").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto m = read_json(data / "step" / "metrics.json");
  CHECK(m["epochs"][0]["lr"].get<double>() == Approx(0.1));
  CHECK(m["epochs"][0]["lr_first"].get<double>() == Approx(0.1));
  CHECK(m["epochs"][1]["lr"].get<double>() == Approx(0.05));
  CHECK(has(read_text(data / "step" / "metrics.csv"), "lr_first,lr,"));
  CHECK(has(r.output, "lr 0.1  "));  // epoch 1's line: one rate
  CHECK(has(r.output, "run ETA "));  // after epoch 1 of 2
  // At the end: what came out and where it went.
  CHECK(has(r.output, "done: convnet39k (batch norm)"));
  CHECK(has(r.output, "wrote " + (data / "step").string() + "/: metrics.csv"));
  // OneCycle moves within an epoch: the first and last step's rates are both logged.
  train::TrainConfig c = tiny_config(data, (data / "onecycle").string());
  c.recipe.epochs = 2;
  const train::RunResult one = train::run_training(c);
  REQUIRE(one.history.size() == 2);
  CHECK(one.history[0].lr_first == Approx(c.recipe.max_lr / c.recipe.div_factor));
  CHECK(one.history[0].lr > one.history[0].lr_first);  // warming up
  CHECK(one.history[1].lr < one.history[1].lr_first);  // annealing
  fs::remove_all(data);
}

TEST_CASE("a stop request does not cut the test pass short", "[train_cifar][signals]") {
  const fs::path data = make_dataset("stop_eval", 10, 50);
  const data::Cifar10 test = data::load_cifar10(data.string(), data::Split::Test);
  data::DataLoader loader(test, data::DataLoaderOptions().batch_size(16).shuffle(false).workers(0));
  auto model = models::make_model("convnet39k").ptr();
  train::install_stop_handlers();
  std::raise(SIGINT);  // as if Ctrl-C came during the test pass
  REQUIRE(train::stop_signal() == SIGINT);
  train::EvalResult e;
  CHECK_NOTHROW(e = train::evaluate(*model, loader));
  CHECK(e.predictions.size() == 50);  // every test image: the epoch's numbers are whole
  CHECK_THROWS_AS(train::check_stop(), train::Interrupted);  // the training loop stops next
  train::clear_stop();
  fs::remove_all(data);
}

TEST_CASE("evaluate takes a checkpoint and refuses what it would ignore or overwrite", "[train_cifar][evaluate][errors]") {
  const fs::path data = make_dataset("evaluate_checks", 60);
  const fs::path run = data / "run", other = data / "other";
  REQUIRE(run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 1 --out " + run.string()).exit_code == 0);
  REQUIRE(run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 1 --out " + other.string()).exit_code == 0);
  // The training checkpoint (its model.* tensors) scores the same as model.safetensors.
  CommandResult a = run_command(train_cifar_bin() + " --evaluate " + (run / "model.safetensors").string() + " --out " +
                                (data / "eval_model").string());
  CommandResult b = run_command(train_cifar_bin() + " --evaluate " + (run / "checkpoint.safetensors").string() +
                                " --out " + (data / "eval_ckpt").string());
  INFO(a.output << b.output);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  const auto ev = read_json(data / "eval_model" / "evaluation.json");
  CHECK(ev["test_acc"] == read_json(data / "eval_ckpt" / "evaluation.json")["test_acc"]);
  // evaluation.json holds what the terminal shows: per-class accuracy and the confusion matrix.
  CHECK(ev["per_class_accuracy"].size() == 10);
  CHECK(ev["per_class_accuracy"].contains("airplane"));
  int64_t counted = 0;
  for (const auto& row : ev["confusion_matrix"]["rows_true_columns_predicted"])
    for (const auto& v : row) counted += v.get<int64_t>();
  CHECK(counted == 100);  // every test image once
  // predictions.csv names the classes after the numbers.
  const std::string csv = read_text(data / "eval_model" / "predictions.csv");
  CHECK(has(csv.substr(0, csv.find('\n')), "logit_9,label_name,prediction_name"));
  CHECK(has(csv, ",airplane,"));
  // A recipe flag would be ignored: the saved recipe is the model.
  CommandResult r = run_command(train_cifar_bin() + " --evaluate " + run.string() + " --model skipnet48k --norm group");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "cannot be given with it"));
  // --out naming another run's folder would replace its predictions.csv and pictures.
  const std::string before = read_text(other / "predictions.csv");
  r = run_command(train_cifar_bin() + " --evaluate " + run.string() + " --out " + other.string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "holds a training run"));
  CHECK(read_text(other / "predictions.csv") == before);
  fs::remove_all(data);
}

TEST_CASE("two runs never share a folder", "[train_cifar][run_folder]") {
  const fs::path data = make_dataset("claim", 60);
  const fs::path cwd = data / "work", log = data / "log";
  fs::create_directories(cwd);
  // A long run into the default folder runs/convnet39k-batch, started from cwd.
  std::vector<std::string> args = {"--model", "convnet39k", "--batch-size", "64", "--limit-train", "256",
                                   "--device", "cpu", "--workers", "1", "--epochs", "200", "--data", data.string()};
  const fs::path first = cwd / "runs" / "convnet39k-batch";
  args.insert(args.end(), {"--out", first.string()});
  const pid_t pid = spawn_train(args, log);
  REQUIRE(pid > 0);
  REQUIRE(wait_for(first / ".train_cifar.lock", 60));
  // Before its first checkpoint the folder holds no run files, yet it is taken: a second run with
  // the default folder numbers past it, an --out or --resume naming it is refused.
  CommandResult second = run_command("cd " + cwd.string() + " && " + train_cifar_bin() + tiny_flags(data) +
                                     " --epochs 1");
  CommandResult out = run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 1 --overwrite --out " +
                                  first.string());
  REQUIRE(wait_for(first / "checkpoint.safetensors", 120));
  CommandResult resume = run_command(train_cifar_bin() + " --resume " + first.string());
  kill(pid, SIGKILL);  // the kernel drops the claim with the process
  wait_exit_code(pid);
  INFO(second.output << out.output << resume.output);
  CHECK(second.exit_code == 0);
  CHECK(has(second.output, "output folder: runs/convnet39k-batch-2"));
  CHECK(out.exit_code == 1);
  CHECK(has(out.output, "is in use by another train_cifar run (pid " + std::to_string(pid)));
  CHECK(resume.exit_code == 1);
  CHECK(has(resume.output, "--resume '"));
  CHECK(has(resume.output, "in use by another train_cifar run"));
  // Once that process is gone the run resumes.
  const CommandResult later = run_command(train_cifar_bin() + " --resume " + first.string() + " --stop-after 2");
  INFO(later.output);
  CHECK(later.exit_code == 0);
  fs::remove_all(data);
}

TEST_CASE("a run folder that cannot be written is reported before training", "[train_cifar][run_folder][errors]") {
  const fs::path data = make_dataset("unwritable", 60);
  // A folder whose path leaves no room for the temporary names of the run's files (PATH_MAX 4096).
  fs::path deep = data;
  // Its own lock file (.train_cifar.lock) still fits; NAME.<12 hex>.tmp of a 22-letter name does not.
  const size_t target = 4096 - 30;
  while (deep.string().size() < target) deep /= std::string(std::min<size_t>(200, target - deep.string().size()), 'd');
  std::error_code ec;
  fs::create_directories(deep, ec);
  REQUIRE_FALSE(ec);
  const CommandResult r = run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 1 --out " + deep.string());
  INFO(r.output.substr(0, 300) << " ... " << r.output.substr(r.output.size() > 300 ? r.output.size() - 300 : 0));
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "cannot be written (checked before training)"));
  CHECK_FALSE(has(r.output, "epoch   1/1"));
  fs::remove_all(data);
}

TEST_CASE("a run that will take hours says so after its first batches", "[train_cifar]") {
  const fs::path data = make_dataset("long_run", 40);
  // 25 batches of 8 per epoch for 100,000 epochs: hours at any CPU pace.
  const CommandResult r = run_command(train_cifar_bin() + " --model convnet39k --batch-size 8 --limit-train 200 "
                                      "--device cpu --workers 1 --epochs 100000 --stop-after 1 --data " +
                                      data.string() + " --out " + (data / "run").string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(has(r.output, "note: at this pace ("));
  CHECK(has(r.output, "Ctrl-C stops it resumably"));
  // A short run is not warned about.
  const CommandResult s = run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 1 --out " +
                                      (data / "short").string());
  CHECK_FALSE(has(s.output, "note: at this pace"));
  fs::remove_all(data);
}

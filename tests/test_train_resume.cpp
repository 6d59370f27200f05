// Runs are never lost or silently changed (apps/train/resume.h, run_folder.h, evaluate_saved.h):
// the printed resume command works verbatim from anywhere, the saved recipe is the run, a recipe
// flag that disagrees is refused, finished runs are recognised and repaired, a run folder is never
// overwritten by accident, and saved weights can be evaluated without training.
#include <catch2/catch.hpp>

#include <filesystem>

#include "apps/train/checkpoint.h"
#include "apps/train/resume.h"
#include "apps/train/run.h"
#include "apps/train/run_folder.h"
#include "train_fixture.h"

using namespace minidl;
using namespace minidl::testing;

namespace {
// The tiny recipe as command-line flags (what a user types).
std::string tiny_flags(const fs::path& data) {
  return " --model convnet39k --batch-size 64 --limit-train 256 --device cpu --workers 1 --data " + data.string();
}
}  // namespace

TEST_CASE("the command printed after a stop continues the same run verbatim, from any folder", "[train_cifar][resume]") {
  const fs::path data = make_dataset("resume_cmd", 60);
  const fs::path cwd = data / "work", elsewhere = data / "elsewhere";
  fs::create_directories(cwd);
  fs::create_directories(elsewhere);
  // In an empty folder, with the default run folder, stopped after epoch 1 of 3.
  const CommandResult first =
      run_command("cd " + cwd.string() + " && " + train_cifar_bin() + tiny_flags(data) + " --epochs 3 --stop-after 1");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const std::string cmd = line_after(first.output, "continue with: ");
  REQUIRE_FALSE(cmd.empty());
  CHECK(cmd.find("--resume " + (cwd / "runs" / "convnet39k-batch").string()) != std::string::npos);
  // Exactly that command, from another folder, with nothing else.
  const CommandResult second = run_command("cd " + elsewhere.string() + " && " + cmd);
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  CHECK(second.output.find("resuming convnet39k from epoch 1") != std::string::npos);
  const auto m = read_json(cwd / "runs" / "convnet39k-batch" / "metrics.json");
  CHECK(m["final"]["finished"] == true);
  CHECK(m["epochs"].size() == 3);  // the saved --epochs 3, not the default 20
  CHECK(m["recipe"]["limit_train"] == 256);
  CHECK(m["data"]["train_images"] == 256);
  CHECK_FALSE(fs::exists(elsewhere / "runs"));  // nothing written where the command ran
  CHECK_FALSE(fs::exists(cwd / "runs" / "minidl50k-batch"));
  // The schedule continued: epoch 2's lr is that of a 3-epoch OneCycle, as in an uninterrupted run.
  train::TrainConfig c = tiny_config(data, (data / "straight").string());
  c.recipe.epochs = 3;
  const train::RunResult straight = train::run_training(c);
  REQUIRE(straight.history.size() == 3);
  CHECK(m["epochs"][1]["lr"].get<double>() == Approx(straight.history[1].lr).epsilon(1e-9));
  CHECK(m["epochs"][2]["test_acc"].get<double>() == straight.history[2].test_acc);
  fs::remove_all(data);
}

TEST_CASE("a recipe flag given with --resume must match the saved value", "[train_cifar][resume][errors]") {
  const fs::path data = make_dataset("resume_mismatch", 60);
  const fs::path run = data / "run";
  REQUIRE(run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 2 --stop-after 1 --out " + run.string())
              .exit_code == 0);
  const std::string resume = train_cifar_bin() + " --resume " + run.string();
  const CommandResult lr = run_command(resume + " --lr 0.1");
  INFO(lr.output);
  CHECK(lr.exit_code == 1);
  CHECK(lr.output.find("--lr: the saved run has 0.05") != std::string::npos);
  CHECK(lr.output.find("the command gives 0.1 ") != std::string::npos);
  const CommandResult model = run_command(resume + " --model skipnet48k");
  CHECK(model.exit_code == 1);
  CHECK(model.output.find("--model: the saved run has convnet39k, the command gives skipnet48k") != std::string::npos);
  // Fewer epochs: refused; more epochs of a OneCycle run: refused with the reason.
  CHECK(run_command(resume + " --epochs 1").output.find("never shortened") != std::string::npos);
  const CommandResult more = run_command(resume + " --epochs 5");
  CHECK(more.exit_code == 1);
  CHECK(more.output.find("OneCycle") != std::string::npos);
  // A different output folder: refused (the run continues in its own folder).
  const CommandResult out = run_command(resume + " --out " + (data / "other").string());
  CHECK(out.exit_code == 1);
  CHECK(out.output.find("continues the run in its own folder") != std::string::npos);
  // The same values, typed again, are fine; --data may name another copy of the same images.
  fs::create_directories(data / "copy");
  fs::copy(data / "cifar-10-batches-bin", data / "copy" / "cifar-10-batches-bin", fs::copy_options::recursive);
  const CommandResult same = run_command(resume + " --model convnet39k --lr 0.05 --data " + (data / "copy").string());
  INFO(same.output);
  CHECK(same.exit_code == 0);
  CHECK(read_json(run / "metrics.json")["final"]["finished"] == true);
  fs::remove_all(data);
}

TEST_CASE("resume refuses data that is not the run's images", "[train_cifar][resume][errors]") {
  const fs::path data = make_dataset("resume_data", 60);
  const fs::path other = make_dataset("resume_data_other", 61);  // other images
  const fs::path run = data / "run";
  REQUIRE(run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 2 --stop-after 1 --out " + run.string())
              .exit_code == 0);
  const CommandResult r = run_command(train_cifar_bin() + " --resume " + run.string() + " --data " + other.string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("not the images this run was trained on") != std::string::npos);
  fs::remove_all(data);
  fs::remove_all(other);
}

TEST_CASE("a run with a step schedule can be extended with more epochs", "[train_cifar][resume]") {
  const fs::path data = make_dataset("resume_extend", 60);
  train::TrainConfig c = tiny_config(data, (data / "run").string());
  c.recipe.scheduler = "step";
  c.recipe.step_size = 1;
  c.recipe.epochs = 1;
  REQUIRE(train::run_training(c).finished);
  train::Recipe given;
  given.epochs = 2;
  const train::ResumePlan plan = train::plan_resume(c.env.out, given, {"epochs"}, train::Environment());
  REQUIRE(plan.runs.size() == 1);
  CHECK(plan.runs[0].recipe.epochs == 2);
  CHECK(plan.runs[0].recipe.scheduler == "step");
  const train::RunResult r = train::run_training(plan.runs[0]);
  CHECK(r.finished);
  CHECK(r.history.size() == 2);
  CHECK(r.history[1].lr == Approx(r.history[0].lr * 0.1));  // the StepLR state carried on
  fs::remove_all(data);
}

TEST_CASE("resuming a finished run trains nothing and repairs a model file left behind", "[train_cifar][resume]") {
  const fs::path data = make_dataset("resume_done", 60);
  const fs::path run = data / "run";
  train::TrainConfig c = tiny_config(data, run.string());
  c.recipe.epochs = 2;
  c.env.stop_after = 1;
  train::run_training(c);
  const std::string epoch1_model = read_text(run / "model.safetensors");
  c.env.stop_after = -1;
  c.resume = (run / "checkpoint.safetensors").string();
  REQUIRE(train::run_training(c).finished);
  const std::string metrics = read_text(run / "metrics.csv");

  { std::ofstream(run / "checkpoint.safetensors.0123abcd4567.tmp") << "half a checkpoint"; }  // a kill -9 mid-write
  { std::ofstream(run / "notes.0123.tmp") << "not ours"; }
  const CommandResult again = run_command(train_cifar_bin() + " --resume " + run.string());
  CHECK(again.output.find("removed 1 temporary file(s)") != std::string::npos);
  CHECK_FALSE(fs::exists(run / "checkpoint.safetensors.0123abcd4567.tmp"));
  CHECK(fs::exists(run / "notes.0123.tmp"));
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK(again.output.find("already finished (2 of 2 epochs): nothing to train") != std::string::npos);
  CHECK(read_text(run / "metrics.csv") == metrics);

  // A crash between the checkpoint's rename and the model file's: the model file is an epoch behind.
  { std::ofstream(run / "model.safetensors", std::ios::binary) << epoch1_model; }
  CHECK(train::model_file_epoch((run / "model.safetensors").string()) == 1);
  const CommandResult repair = run_command(train_cifar_bin() + " --resume " + run.string());
  INFO(repair.output);
  CHECK(repair.exit_code == 0);
  CHECK(repair.output.find("model.safetensors is behind its checkpoint") != std::string::npos);
  CHECK(train::model_file_epoch((run / "model.safetensors").string()) == 2);
  // ... and a crash before the final files: they are written without training again.
  fs::remove(run / "predictions.csv");
  const CommandResult finish = run_command(train_cifar_bin() + " --resume " + run.string());
  CHECK(finish.exit_code == 0);
  CHECK(finish.output.find("before its final files were written") != std::string::npos);
  CHECK(fs::exists(run / "predictions.csv"));
  CHECK(read_text(run / "metrics.csv") == metrics);
  fs::remove_all(data);
}

TEST_CASE("a folder that holds a run is never overwritten by accident", "[train_cifar][run_folder]") {
  const fs::path data = make_dataset("overwrite", 60);
  const fs::path cwd = data / "work";
  fs::create_directories(cwd);
  const std::string train = "cd " + cwd.string() + " && " + train_cifar_bin() + tiny_flags(data) + " --epochs 1";
  REQUIRE(run_command(train).exit_code == 0);
  const std::string first_metrics = read_text(cwd / "runs" / "convnet39k-batch" / "metrics.json");
  // The default folder is taken: the next run picks a fresh one.
  const CommandResult second = run_command(train);
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  CHECK(second.output.find("output folder: runs/convnet39k-batch-2") != std::string::npos);
  CHECK(fs::exists(cwd / "runs" / "convnet39k-batch-2" / "metrics.json"));
  CHECK(read_text(cwd / "runs" / "convnet39k-batch" / "metrics.json") == first_metrics);
  // An explicit --out that holds a run: refused, naming the folder and the ways out.
  const CommandResult refused = run_command(train + " --out runs/convnet39k-batch");
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  for (const char* s : {"--out 'runs/convnet39k-batch' already holds a run", "--out NEW", "--resume", "--overwrite"})
    CHECK(refused.output.find(s) != std::string::npos);
  CHECK(read_text(cwd / "runs" / "convnet39k-batch" / "metrics.json") == first_metrics);
  // --overwrite replaces it.
  const CommandResult replaced = run_command(train + " --seed 7 --out runs/convnet39k-batch --overwrite");
  CHECK(replaced.exit_code == 0);
  CHECK(read_json(cwd / "runs" / "convnet39k-batch" / "metrics.json")["recipe"]["seed"] == 7);
  // A file where the folder should be.
  { std::ofstream(cwd / "afile") << "x"; }
  CHECK(run_command(train + " --out afile").output.find("is a file, not a folder") != std::string::npos);
  fs::remove_all(data);
}

TEST_CASE("evaluate scores saved weights and writes predictions.csv", "[train_cifar][evaluate]") {
  const fs::path data = make_dataset("evaluate", 60);
  const fs::path run = data / "run";
  train::TrainConfig c = tiny_config(data, run.string());
  const train::RunResult r = train::run_training(c);
  REQUIRE(r.finished);
  // Every run writes predictions.csv: header, one row per test image, 3 + 10 columns.
  const std::string csv = read_text(run / "predictions.csv");
  CHECK(csv.rfind("index,label,prediction,logit_0,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 101);
  const CommandResult e = run_command(train_cifar_bin() + " --evaluate " + run.string());
  INFO(e.output);
  REQUIRE(e.exit_code == 0);
  char expect[64];
  std::snprintf(expect, sizeof expect, "test accuracy %.2f%% (100 images)", r.history.back().test_acc);
  CHECK(e.output.find(expect) != std::string::npos);
  CHECK(e.output.find("with flip test-time augmentation") != std::string::npos);
  CHECK(read_json(run / "metrics.json")["final"]["test_acc_flip_tta"].is_number());
  CHECK(e.output.find("per-class accuracy") != std::string::npos);
  CHECK(e.output.find("confusion matrix") != std::string::npos);
  // Same weights, same data: the same predictions as the run's own file.
  CHECK(read_text(run / "evaluation" / "predictions.csv") == csv);
  const auto ev = read_json(run / "evaluation" / "evaluation.json");
  CHECK(ev["test_acc"].get<double>() == r.history.back().test_acc);
  CHECK(ev["test_acc_flip_tta"].get<double>() == read_json(run / "metrics.json")["final"]["test_acc_flip_tta"].get<double>());
  // The model file alone, with --data and --out.
  const CommandResult f = run_command(train_cifar_bin() + " --evaluate " + (run / "model.safetensors").string() +
                                      " --data " + data.string() + " --out " + (data / "eval2").string());
  CHECK(f.exit_code == 0);
  CHECK(fs::exists(data / "eval2" / "predictions.csv"));
  CHECK(run_command(train_cifar_bin() + " --evaluate " + (data / "nothing").string()).exit_code == 1);
  fs::remove_all(data);
}

TEST_CASE("a diverging run stops naming the epoch, the batch and the remedies", "[train_cifar][errors]") {
  const fs::path data = make_dataset("nan", 60);
  const CommandResult r = run_command(train_cifar_bin() + tiny_flags(data) + " --epochs 1 --scheduler none --lr 1e5" +
                                      " --out " + (data / "run").string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("training diverged: the ") != std::string::npos);
  CHECK(r.output.find("epoch 1") != std::string::npos);
  CHECK(r.output.find("no epoch was completed") != std::string::npos);
  CHECK(r.output.find("--max-lr") != std::string::npos);
  CHECK(r.output.find("--pct-start") != std::string::npos);
  fs::remove_all(data);
}

TEST_CASE("tiny OneCycle schedules train: 4 steps in one epoch", "[train_cifar]") {
  const fs::path data = make_dataset("tiny_schedule", 110);
  train::TrainConfig c = tiny_config(data, (data / "run").string());
  c.recipe.limit_train = 512;
  c.recipe.batch_size = 128;  // 4 steps: pct_start * 4 = 1 step of warm-up
  const train::RunResult r = train::run_training(c);
  CHECK(r.finished);
  CHECK(std::isfinite(r.history.back().train_loss));
  fs::remove_all(data);
}

TEST_CASE("a stopped --norm all run resumes as a whole and writes its comparison", "[train_cifar][resume]") {
  const fs::path data = make_dataset("resume_all", 60);
  const fs::path out = data / "all";
  const CommandResult first = run_command(train_cifar_bin() + tiny_flags(data) + " --norm all --epochs 2 --stop-after 1" +
                                          " --out " + out.string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const std::string cmd = line_after(first.output, "continue with: ");
  CHECK(cmd == train_cifar_bin() + " --resume " + out.string() + " --device cpu --workers 1");  // tiny_flags' environment
  CHECK(fs::exists(out / "norm_all.json"));
  CHECK_FALSE(fs::exists(out / "group"));  // the later norms have not started
  const CommandResult second = run_command(cmd);
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  for (const char* norm : {"batch", "group", "layer"}) {
    INFO(norm);
    const auto m = read_json(out / norm / "metrics.json");
    CHECK(m["final"]["finished"] == true);
    CHECK(m["recipe"]["norm"] == norm);
    CHECK(m["recipe"]["epochs"] == 2);
  }
  CHECK(fs::exists(out / "comparison.md"));
  // The table is printed too, with the flip-TTA column, one row per norm.
  CHECK(second.output.find("| norm | params | epochs | best test acc | final test acc | with flip TTA |") !=
        std::string::npos);
  CHECK(second.output.find("| layer |") != std::string::npos);
  fs::remove_all(data);
}

// train_cifar end to end on a tiny generated dataset in the official format: every output file,
// resume equivalence, --norm all, the LR finder, and a clear error for a missing --data path.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "apps/train/checkpoint.h"
#include "apps/train/run.h"
#include "core/safetensors.h"
#include "core/random.h"
#include "train_fixture.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

using namespace minidl::testing;

std::vector<std::vector<double>> metric_rows(const train::RunResult& r) {
  std::vector<std::vector<double>> rows;
  for (const auto& e : r.history) rows.push_back({e.train_loss, e.train_acc, e.test_loss, e.test_acc, e.lr});
  return rows;
}

}  // namespace

TEST_CASE("train_cifar smoke run writes every output file", "[train_cifar]") {
  const fs::path data = make_dataset("smoke", 110);
  const fs::path out = data / "run";
  train::TrainConfig c = tiny_config(data, out.string());
  c.recipe.limit_train = 512;
  const train::RunResult r = train::run_training(c);
  CHECK(r.finished);
  REQUIRE(r.history.size() == 1);
  for (const char* f : {"metrics.csv", "metrics.json", "checkpoint.safetensors", "model.safetensors", "loss.png",
                        "accuracy.png", "misclassified.png", "per_class_accuracy.png", "confusion_matrix.png",
                        "predictions.csv"}) {
    INFO(f);
    CHECK(fs::exists(out / f));
    CHECK(fs::file_size(out / f) > 0);
  }
  CHECK(temp_files_in(out).empty());
  const auto metrics = read_json(out / "metrics.json");
  CHECK(metrics["recipe"]["model"] == "convnet39k");
  CHECK(metrics["recipe"]["data"] == fs::absolute(data).lexically_normal().string());
  CHECK(metrics["environment"]["device"] == "cpu");
  CHECK(metrics["data"]["train_images"] == 512);
  CHECK(metrics["data"]["test_images"] == 100);
  CHECK(metrics["epochs"].size() == 1);
  CHECK(metrics["final"]["finished"] == true);
  fs::remove_all(data);
}

TEST_CASE("a resumed run ends with the same metrics as an uninterrupted one", "[train_cifar]") {
  const fs::path data = make_dataset("resume", 60);
  train::TrainConfig c = tiny_config(data, (data / "full").string());
  c.recipe.epochs = 3;
  c.recipe.model = "skipnet48k";  // has dropout: the generator state must be restored too
  const train::RunResult full = train::run_training(c);

  train::TrainConfig first = c;
  first.env.out = (data / "interrupted").string();
  first.env.stop_after = 1;
  const train::RunResult part = train::run_training(first);
  CHECK_FALSE(part.finished);
  CHECK(part.history.size() == 1);
  train::TrainConfig second = first;
  second.env.stop_after = -1;
  second.resume = first.env.out + "/checkpoint.safetensors";
  const train::RunResult resumed = train::run_training(second);
  CHECK(resumed.finished);
  CHECK(metric_rows(resumed) == metric_rows(full));
  fs::remove_all(data);
}

TEST_CASE("the LR finder alone writes its curve", "[train_cifar]") {
  const fs::path data = make_dataset("lrfind", 60);
  train::TrainConfig c = tiny_config(data, (data / "lr").string());
  c.recipe.lr_find = true;
  c.recipe.epochs = 0;
  const train::RunResult r = train::run_training(c);
  CHECK(fs::exists(fs::path(c.env.out) / "lr_finder.png"));
  CHECK(fs::exists(fs::path(c.env.out) / "lr_finder.csv"));
  CHECK(r.suggested_lr > 0);
  CHECK(r.recipe.max_lr == train::Recipe().max_lr);  // the recipe keeps what was asked for
  fs::remove_all(data);
}

TEST_CASE("train_cifar exits non-zero naming a missing --data path", "[train_cifar][errors]") {
  const fs::path out = fs::temp_directory_path() / "minidl_missing";
  fs::remove_all(out);
  const CommandResult r = run_command(train_cifar_bin() + " --data /nonexistent/cifar --epochs 1 --out " + out.string());
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("/nonexistent/cifar") != std::string::npos);
  CHECK(r.output.find("prepare_cifar10.sh") != std::string::npos);
}

TEST_CASE("train_cifar --help documents every flag with its default", "[train_cifar]") {
  const CommandResult r = run_command(train_cifar_bin() + " --help");
  CHECK(r.exit_code == 0);
  const std::string& output = r.output;
  for (const char* flag : {"--model", "--norm", "--groups", "--epochs", "--batch-size", "--optimizer", "--lr",
                           "--momentum", "--weight-decay", "--scheduler", "--max-lr", "--pct-start", "--lr-find",
                           "--augment", "--pad-fill", "--label-smoothing", "--device", "--data", "--out", "--seed", "--threads",
                           "--limit-train", "--resume", "--summary", "--overwrite", "--evaluate", "--stop-after"}) {
    INFO(flag);
    CHECK(output.find(flag) != std::string::npos);
  }
  CHECK(output.find("--epochs INT=20") != std::string::npos);  // defaults are shown
  CHECK(output.find("--nesterov BOOLEAN=true") != std::string::npos);  // as the flag reads them
  for (const char* group : {"Model:", "Optimization:", "Schedule:", "Data and augmentation:", "Output and run:",
                            "Hardware:"}) {
    INFO(group);
    CHECK(output.find(group) != std::string::npos);
  }
  // The rules users need: run folders, resume, signals, evaluate.
  for (const char* rule : {"never overwritten", "exits 130", "143", "predictions.csv", "more --epochs"}) {
    INFO(rule);
    CHECK(output.find(rule) != std::string::npos);
  }
}

TEST_CASE("checkpoint metadata is parsed strictly, naming the file and the field", "[train_cifar][checkpoint][errors]") {
  const fs::path data = make_dataset("ckpt_meta", 60);
  train::TrainConfig c = tiny_config(data, (data / "run").string());
  train::run_training(c);
  const std::string good = (data / "run" / "checkpoint.safetensors").string();
  const std::string bad = (data / "bad.safetensors").string();
  const SafetensorsFile f = load_safetensors(good);
  auto with = [&](const std::string& key, const std::string& value) {
    Metadata m = f.metadata;
    if (value.empty()) m.erase(key);
    else m[key] = value;
    save_safetensors(bad, f.tensors, m);
    return bad;
  };
  CHECK_THROWS_WITH(train::read_checkpoint(with("epoch", "-3")), Catch::Contains(bad) && Catch::Contains("'epoch' is -3"));
  CHECK_THROWS_WITH(train::read_checkpoint(with("epoch", "1x")), Catch::Contains("'epoch' must be an integer, got '1x'"));
  CHECK_THROWS_WITH(train::read_checkpoint(with("epoch", "")), Catch::Contains("lacks the field 'epoch'"));
  CHECK_THROWS_WITH(train::read_checkpoint(with("history", "[]")), Catch::Contains("'history' must list one record"));
  CHECK_THROWS_WITH(train::read_checkpoint(with("history", "{nope")), Catch::Contains("'history' is not valid JSON"));
  CHECK_THROWS_WITH(train::read_checkpoint(with("optimizer", "{\"lr\": \"x\"}")),
                    Catch::Contains("'optimizer': 'lr' must be a number"));
  auto recipe = nlohmann::json::parse(f.metadata.at("recipe"));
  recipe["lr"] = "fast";
  CHECK_THROWS_WITH(train::read_checkpoint(with("recipe", recipe.dump())),
                    Catch::Contains(bad) && Catch::Contains("field 'lr' has the wrong type"));
  recipe.erase("lr");
  CHECK_THROWS_WITH(train::read_checkpoint(with("recipe", recipe.dump())), Catch::Contains("lacks the field 'lr'"));
  recipe = nlohmann::json::parse(f.metadata.at("recipe"));
  recipe["lr"] = -1;
  CHECK_THROWS_WITH(train::read_checkpoint(with("recipe", recipe.dump())),
                    Catch::Contains("saved recipe is invalid") && Catch::Contains("--lr"));
  // A checkpoint from before --pad-fill existed trained with black padding: read as "zero".
  recipe = nlohmann::json::parse(f.metadata.at("recipe"));
  recipe.erase("pad_fill");
  CHECK(train::read_checkpoint(with("recipe", recipe.dump())).recipe.pad_fill == "zero");
  recipe["pad_fill"] = "grey";
  CHECK_THROWS_WITH(train::read_checkpoint(with("recipe", recipe.dump())),
                    Catch::Contains("--pad-fill 'grey'") && Catch::Contains("mean, zero"));
  // A folder passed as the checkpoint: named as such, not "not valid JSON".
  CHECK_THROWS_WITH(train::read_checkpoint(data.string()), Catch::Contains("is a folder"));
  fs::remove_all(data);
}

TEST_CASE("every numeric flag is checked at start, naming the flag and the range", "[train_cifar][errors]") {
  const std::string bin = train_cifar_bin() + " --data /nonexistent";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--lr inf", "--lr must be a finite number"},
      {"--lr nan", "--lr must be a finite number"},
      {"--max-lr -1", "--max-lr must be a finite number in (0"},
      {"--div-factor 0", "--div-factor must be a finite number in (0"},
      {"--final-div-factor inf", "--final-div-factor"},
      {"--pct-start 1", "--pct-start must be a finite number in (0, 1)"},
      {"--momentum 1", "--momentum must be a finite number in [0, 1)"},
      {"--label-smoothing 1", "--label-smoothing"},
      {"--weight-decay -0.1", "--weight-decay"},
      {"--gamma 0", "--gamma"},
      {"--scheduler plateau --gamma 1", "--gamma must be a finite number in (0, 1)"},
      {"--epochs 100001", "--epochs must be in [0, 100000]"},
      {"--epochs -1", "--epochs must be in [0, 100000]"},
      {"--batch-size 0", "--batch-size must be in [1,"},
      {"--dropout inf", "--dropout"},
      {"--step-size 0", "--step-size"},
      {"--threads -2", "--threads"},
      {"--limit-train 0", "--limit-train must be positive"},
  };
  for (const auto& [flags, message] : cases) {
    const CommandResult r = run_command(bin + " " + flags);
    INFO(flags << "\n" << r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(message) != std::string::npos);
  }
  // Numbers too large for the flag's type are parse errors (CLI11), not wrapped values.
  const CommandResult big = run_command(bin + " --epochs 99999999999999999999");
  INFO(big.output);
  CHECK(big.exit_code != 0);
  CHECK(big.output.find("--epochs") != std::string::npos);
  CHECK(big.output.find("total_steps") == std::string::npos);
  // model_summary's batch: a plain range, not a 309-digit bound.
  const CommandResult summary = run_command(std::string(MINIDL_BINARY_DIR) + "/apps/model_summary --batch 0");
  INFO(summary.output);
  CHECK(summary.exit_code != 0);
  CHECK(summary.output.find("not in range 1 to 1048576") != std::string::npos);
  CHECK(summary.output.size() < 300);
}

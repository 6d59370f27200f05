// train_cifar end to end on a tiny generated dataset in the official format: every output file,
// resume equivalence, --norm all, the LR finder, and a clear error for a missing --data path.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "apps/train/run.h"
#include "core/random.h"

using namespace minidl;
namespace fs = std::filesystem;

namespace {

// A scratch folder for one test, holding a fake CIFAR-10 dataset (5 training files of `per_file`
// random images and a test file of 100) in root/cifar-10-batches-bin. Returns root.
fs::path make_dataset(const std::string& name, int per_file) {
  const fs::path root = fs::temp_directory_path() / ("minidl_train_" + name);
  const fs::path dir = root / "cifar-10-batches-bin";
  fs::create_directories(dir);
  Generator g(5);
  auto write = [&](const std::string& file, int n) {
    std::vector<double> r = rand({n, 3073}, DType::Float64, &g, 0, 256).to_vector<double>();
    std::ofstream f(dir / file, std::ios::binary);
    for (int i = 0; i < n; ++i) {
      f.put(static_cast<char>(i % 10));
      for (int j = 1; j < 3073; ++j) f.put(static_cast<char>(static_cast<int>(r[i * 3073 + j])));
    }
  };
  for (int b = 1; b <= 5; ++b) write("data_batch_" + std::to_string(b) + ".bin", per_file);
  write("test_batch.bin", 100);
  return root;
}

train::TrainConfig tiny_config(const fs::path& data, const std::string& out) {
  train::TrainConfig c;
  c.model = "convnet39k";
  c.data = data.string();
  c.out = out;
  c.device = "cpu";
  c.epochs = 1;
  c.batch_size = 64;
  c.workers = 1;
  c.limit_train = 256;
  return c;
}

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
  c.limit_train = 512;
  const train::RunResult r = train::run_training(c);
  CHECK(r.finished);
  REQUIRE(r.history.size() == 1);
  for (const char* f : {"metrics.csv", "metrics.json", "checkpoint.safetensors", "model.safetensors", "loss.png",
                        "accuracy.png", "misclassified.png", "per_class_accuracy.png", "confusion_matrix.png"}) {
    INFO(f);
    CHECK(fs::exists(out / f));
    CHECK(fs::file_size(out / f) > 0);
    CHECK_FALSE(fs::exists(out / (std::string(f) + ".tmp")));
  }
  std::ifstream j(out / "metrics.json");
  const auto metrics = nlohmann::json::parse(j);
  CHECK(metrics["config"]["model"] == "convnet39k");
  CHECK(metrics["epochs"].size() == 1);
  CHECK(metrics["final"]["finished"] == true);
  fs::remove_all(data);
}

TEST_CASE("a resumed run ends with the same metrics as an uninterrupted one", "[train_cifar]") {
  const fs::path data = make_dataset("resume", 60);
  train::TrainConfig c = tiny_config(data, (data / "full").string());
  c.epochs = 3;
  c.model = "skipnet48k";  // has dropout: the generator state must be restored too
  const train::RunResult full = train::run_training(c);

  train::TrainConfig first = c;
  first.out = (data / "interrupted").string();
  first.stop_after = 1;
  const train::RunResult part = train::run_training(first);
  CHECK_FALSE(part.finished);
  CHECK(part.history.size() == 1);
  train::TrainConfig second = first;
  second.stop_after = -1;
  second.resume = first.out + "/checkpoint.safetensors";
  const train::RunResult resumed = train::run_training(second);
  CHECK(resumed.finished);
  CHECK(metric_rows(resumed) == metric_rows(full));
  fs::remove_all(data);
}

TEST_CASE("the LR finder alone writes its curve", "[train_cifar]") {
  const fs::path data = make_dataset("lrfind", 60);
  train::TrainConfig c = tiny_config(data, (data / "lr").string());
  c.lr_find = true;
  c.epochs = 0;
  const train::RunResult r = train::run_training(c);
  CHECK(fs::exists(fs::path(c.out) / "lr_finder.png"));
  CHECK(fs::exists(fs::path(c.out) / "lr_finder.csv"));
  CHECK(r.config.max_lr != train::TrainConfig().max_lr);  // replaced by the suggestion
  fs::remove_all(data);
}

TEST_CASE("train_cifar exits non-zero naming a missing --data path", "[train_cifar][errors]") {
  const std::string bin = std::string(MINIDL_BINARY_DIR) + "/apps/train_cifar";
  const std::string cmd = bin + " --data /nonexistent/cifar --epochs 1 --out " +
                          (fs::temp_directory_path() / "minidl_missing").string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) output += buf;
  const int status = pclose(p);
  INFO(output);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(output.find("/nonexistent/cifar") != std::string::npos);
  CHECK(output.find("prepare_cifar10.sh") != std::string::npos);
}

TEST_CASE("train_cifar --help documents every flag with its default", "[train_cifar]") {
  const std::string bin = std::string(MINIDL_BINARY_DIR) + "/apps/train_cifar";
  FILE* p = popen((bin + " --help").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) output += buf;
  CHECK(pclose(p) == 0);
  for (const char* flag : {"--model", "--norm", "--groups", "--epochs", "--batch-size", "--optimizer", "--lr",
                           "--momentum", "--weight-decay", "--scheduler", "--max-lr", "--pct-start", "--lr-find",
                           "--augment", "--label-smoothing", "--device", "--data", "--out", "--seed", "--threads",
                           "--limit-train", "--resume", "--summary"}) {
    INFO(flag);
    CHECK(output.find(flag) != std::string::npos);
  }
  CHECK(output.find("--epochs INT=20") != std::string::npos);  // defaults are shown
}

#include "apps/train/outputs.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/train/plots.h"
#include "apps/train/progress.h"
#include "core/error.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"

namespace minidl::train {

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    MINIDL_CHECK(f.good(), "cannot write '", tmp, "'");
    f << text;
    MINIDL_CHECK(f.good(), "error writing '", tmp, "' (disk full?)");
  }
  MINIDL_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename '", tmp, "' to '", path, "'");
}

void write_metrics(const RunResult& r, const nlohmann::json& extra) {
  std::ostringstream csv;
  csv << "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,data_wait_seconds,images_per_second\n";
  char line[256];
  for (const EpochRecord& e : r.history) {
    std::snprintf(line, sizeof line, "%lld,%.6f,%.4f,%.6f,%.4f,%.6g,%.2f,%.3f,%.1f\n", (long long)e.epoch, e.train_loss,
                  e.train_acc, e.test_loss, e.test_acc, e.lr, e.seconds, e.data_wait, e.images_per_second);
    csv << line;
  }
  write_text_file(r.out_dir + "/metrics.csv", csv.str());

  nlohmann::json j;
  j["config"] = to_json(r.config);
  j["device"] = r.device;
  j["params"] = r.params;
  j["epochs"] = nlohmann::json::array();
  for (const EpochRecord& e : r.history) j["epochs"].push_back(to_json(e));
  if (!r.history.empty()) {
    const EpochRecord& last = r.history.back();
    double best = 0, seconds = 0;
    int64_t best_epoch = 0;
    for (const EpochRecord& e : r.history) {
      seconds += e.seconds;
      if (e.test_acc > best) best = e.test_acc, best_epoch = e.epoch;
    }
    j["final"] = {{"finished", r.finished},   {"epochs_done", last.epoch}, {"test_acc", last.test_acc},
                  {"test_loss", last.test_loss}, {"train_acc", last.train_acc}, {"best_test_acc", best},
                  {"best_epoch", best_epoch}, {"seconds", seconds}};
  }
  if (extra.contains("lr_finder")) j["lr_finder"] = {{"suggested_lr", extra["lr_finder"]["suggested_lr"]}};
  write_text_file(r.out_dir + "/metrics.json", j.dump(2) + "\n");
}

void write_pictures(const RunResult& r, const data::Cifar10& test_set, const std::vector<int64_t>& predictions) {
  const std::string& dir = r.out_dir;
  std::vector<double> epoch, train_loss, test_loss, train_acc, test_acc;
  for (const EpochRecord& e : r.history) {
    epoch.push_back(static_cast<double>(e.epoch));
    train_loss.push_back(e.train_loss), test_loss.push_back(e.test_loss);
    train_acc.push_back(e.train_acc), test_acc.push_back(e.test_acc);
  }
  const std::string what = r.config.model + ", " + r.config.norm + " norm";
  plots::line_chart(dir + "/loss.png", "Loss (" + what + ")", "epoch", "cross-entropy",
                    {{"train (with label smoothing)", epoch, train_loss}, {"test", epoch, test_loss}});
  plots::line_chart(dir + "/accuracy.png", "Accuracy (" + what + ")", "epoch", "accuracy (%)",
                    {{"train", epoch, train_acc}, {"test", epoch, test_acc}});

  const auto& names = test_set.class_names;
  const size_t k = names.size();
  std::vector<std::vector<int64_t>> confusion(k, std::vector<int64_t>(k, 0));
  std::vector<plots::Tile> wrong;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const int64_t t = test_set.labels[i], p = predictions[i];
    ++confusion[t][p];
    if (t != p && wrong.size() < 20) {
      const uint8_t* img = test_set.image(static_cast<int64_t>(i));
      wrong.push_back({std::vector<uint8_t>(img, img + data::Cifar10::kImageBytes), 32, 32, names[t] + " / " + names[p]});
    }
  }
  std::vector<double> per_class(k, 0.0);
  for (size_t t = 0; t < k; ++t) {
    int64_t total = 0;
    for (int64_t c : confusion[t]) total += c;
    per_class[t] = total ? 100.0 * static_cast<double>(confusion[t][t]) / static_cast<double>(total) : 0.0;
  }
  plots::bar_chart(dir + "/per_class_accuracy.png", "Test accuracy per class (" + what + ")", names, per_class,
                   "accuracy (%)");
  plots::confusion_matrix(dir + "/confusion_matrix.png", "Confusion matrix, test set (" + what + ")", names, confusion);
  if (!wrong.empty())
    plots::image_grid(dir + "/misclassified.png", "Misclassified test images (true / predicted)", wrong, 5);
}

void write_lr_finder(const std::string& out_dir, const optim::LRFinderResult& lr) {
  std::ostringstream csv;
  csv << "lr,smoothed_loss\n";
  for (size_t i = 0; i < lr.lrs.size(); ++i) csv << lr.lrs[i] << "," << lr.losses[i] << "\n";
  write_text_file(out_dir + "/lr_finder.csv", csv.str());
  plots::line_chart(out_dir + "/lr_finder.png", "LR range test", "learning rate", "smoothed training loss",
                    {{"loss", lr.lrs, lr.losses}}, /*log_x=*/true, lr.suggested_index >= 0 ? lr.suggested_lr : NAN);
}

void write_comparison(const std::string& out_dir, const std::vector<RunResult>& runs) {
  std::ostringstream md;
  md << "# " << (runs.empty() ? "" : runs[0].config.model) << ": batch vs group vs layer normalization\n\n"
     << "CIFAR-10 test set; " << (runs.empty() ? "" : runs[0].device) << ".\n\n"
     << "| norm | params | epochs | best test acc | final test acc | final train acc | time |\n"
     << "|---|---|---|---|---|---|---|\n";
  std::vector<plots::Series> curves;
  char row[256];
  for (const RunResult& r : runs) {
    if (r.history.empty()) continue;
    const EpochRecord& last = r.history.back();
    std::string norm = r.config.norm;
    if (norm == "group") {
      const int64_t g = r.config.groups > 0 ? r.config.groups : models::model_info(r.config.model).default_groups;
      norm += " (" + std::to_string(g) + " groups)";
    }
    std::snprintf(row, sizeof row, "| %s | %s | %lld | %.2f%% (epoch %lld) | %.2f%% | %.2f%% | %s |\n", norm.c_str(),
                  nn::with_commas(r.params).c_str(), (long long)last.epoch, r.best_test_acc, (long long)r.best_epoch,
                  last.test_acc, last.train_acc, format_duration(r.seconds).c_str());
    md << row;
    plots::Series s{r.config.norm + " norm", {}, {}};
    for (const EpochRecord& e : r.history) s.x.push_back(double(e.epoch)), s.y.push_back(e.test_acc);
    curves.push_back(s);
  }
  md << "\nEach run's folder holds its metrics, checkpoints and pictures.\n";
  write_text_file(out_dir + "/comparison.md", md.str());
  if (!curves.empty())
    plots::line_chart(out_dir + "/comparison.png", "Test accuracy by normalization", "epoch", "test accuracy (%)", curves);
}

}  // namespace minidl::train

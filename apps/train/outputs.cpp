#include "apps/train/outputs.h"

#include <cstdio>
#include <sstream>

#include "apps/train/plots.h"
#include "apps/train/progress.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"

namespace minidl::train {
namespace {

std::vector<std::vector<int64_t>> confusion_of(const EvalResult& eval, size_t k) {
  std::vector<std::vector<int64_t>> confusion(k, std::vector<int64_t>(k, 0));
  for (size_t i = 0; i < eval.predictions.size(); ++i) ++confusion[eval.labels[i]][eval.predictions[i]];
  return confusion;
}

std::vector<double> per_class_of(const std::vector<std::vector<int64_t>>& confusion) {
  std::vector<double> per_class;
  for (size_t t = 0; t < confusion.size(); ++t) {
    int64_t total = 0;
    for (int64_t c : confusion[t]) total += c;
    per_class.push_back(total ? 100.0 * static_cast<double>(confusion[t][t]) / static_cast<double>(total) : 0.0);
  }
  return per_class;
}

}  // namespace

void write_metrics(const RunResult& r) {
  std::ostringstream csv;
  csv << "epoch,train_loss,train_acc,test_loss,test_acc,lr_first,lr,seconds,data_wait_seconds,images_per_second\n";
  char line[256];
  for (const EpochRecord& e : r.history) {
    std::snprintf(line, sizeof line, "%lld,%.6f,%.4f,%.6f,%.4f,%.6g,%.6g,%.2f,%.3f,%.1f\n", (long long)e.epoch,
                  e.train_loss, e.train_acc, e.test_loss, e.test_acc, e.lr_first, e.lr, e.seconds, e.data_wait,
                  e.images_per_second);
    csv << line;
  }
  write_file_atomically(r.out_dir + "/metrics.csv", csv.str());

  nlohmann::json j;
  j["recipe"] = to_json(r.recipe);
  j["environment"] = to_json(r.env);
  Environment env = r.env;
  env.out = r.out_dir;
  j["command"] = command_for(r.recipe, env);
  j["device"] = r.device;
  j["params"] = r.params;
  j["data"] = {{"train_images", r.train_images}, {"test_images", r.test_images}};
  j["epochs"] = nlohmann::json::array();
  for (const EpochRecord& e : r.history) j["epochs"].push_back(to_json(e));
  if (!r.history.empty()) {
    const EpochRecord& last = r.history.back();
    const auto [best, best_at] = best_epoch(r.history);
    double seconds = 0;
    for (const EpochRecord& e : r.history) seconds += e.seconds;
    j["final"] = {{"finished", r.finished},   {"epochs_done", last.epoch}, {"test_acc", last.test_acc},
                  {"test_loss", last.test_loss}, {"train_acc", last.train_acc}, {"best_test_acc", best},
                  {"best_epoch", best_at}, {"seconds", seconds}};
    if (r.flip_tta_acc >= 0) j["final"]["test_acc_flip_tta"] = r.flip_tta_acc;
  }
  if (r.suggested_lr > 0) j["lr_finder"] = {{"suggested_lr", r.suggested_lr}};
  write_file_atomically(r.out_dir + "/metrics.json", j.dump(2) + "\n");
}

void write_curves(const RunResult& r) {
  std::vector<double> epoch, train_loss, test_loss, train_acc, test_acc;
  for (const EpochRecord& e : r.history) {
    epoch.push_back(static_cast<double>(e.epoch));
    train_loss.push_back(e.train_loss), test_loss.push_back(e.test_loss);
    train_acc.push_back(e.train_acc), test_acc.push_back(e.test_acc);
  }
  const std::string what = r.recipe.model + ", " + r.recipe.norm + " norm";
  plots::line_chart(r.out_dir + "/loss.png", "Loss (" + what + ")", "epoch", "cross-entropy",
                    {{"train (with label smoothing)", epoch, train_loss}, {"test", epoch, test_loss}});
  plots::line_chart(r.out_dir + "/accuracy.png", "Accuracy (" + what + ")", "epoch", "accuracy (%)",
                    {{"train", epoch, train_acc}, {"test", epoch, test_acc}});
}

void write_evaluation_files(const std::string& dir, const std::string& what, const data::Cifar10& test_set,
                            const EvalResult& eval) {
  // predictions.csv: enough to check a result outside minidl (e.g. against PyTorch on the same
  // weights); logits with 9 significant digits round-trip a float.
  // The class names come last, so the numeric columns keep their places.
  const auto& class_names = test_set.class_names;
  auto name_of = [&](int64_t c) {
    return c >= 0 && static_cast<size_t>(c) < class_names.size() ? class_names[static_cast<size_t>(c)] : std::string();
  };
  std::string csv = "index,label,prediction";
  for (int64_t c = 0; c < eval.classes; ++c) csv += ",logit_" + std::to_string(c);
  csv += ",label_name,prediction_name\n";
  char num[32];
  for (size_t i = 0; i < eval.predictions.size(); ++i) {
    csv += std::to_string(i) + "," + std::to_string(eval.labels[i]) + "," + std::to_string(eval.predictions[i]);
    for (int64_t c = 0; c < eval.classes; ++c) {
      std::snprintf(num, sizeof num, ",%.9g", static_cast<double>(eval.logits[i * eval.classes + c]));
      csv += num;
    }
    csv += "," + name_of(eval.labels[i]) + "," + name_of(eval.predictions[i]) + "\n";
  }
  write_file_atomically(dir + "/predictions.csv", csv);

  const auto& names = test_set.class_names;
  const auto confusion = confusion_of(eval, names.size());
  std::vector<plots::Tile> wrong;
  for (size_t i = 0; i < eval.predictions.size() && wrong.size() < 20; ++i) {
    const int64_t t = eval.labels[i], p = eval.predictions[i];
    if (t == p) continue;
    const uint8_t* img = test_set.image(static_cast<int64_t>(i));
    wrong.push_back({std::vector<uint8_t>(img, img + data::Cifar10::kImageBytes), 32, 32, names[t] + " / " + names[p]});
  }
  plots::bar_chart(dir + "/per_class_accuracy.png", "Test accuracy per class (" + what + ")", names,
                   per_class_of(confusion), "accuracy (%)");
  plots::confusion_matrix(dir + "/confusion_matrix.png", "Confusion matrix, test set (" + what + ")", names, confusion);
  if (!wrong.empty())
    plots::image_grid(dir + "/misclassified.png", "Misclassified test images (true / predicted)", wrong, 5);
}

nlohmann::json evaluation_json(const data::Cifar10& test_set, const EvalResult& eval) {
  const auto& names = test_set.class_names;
  const auto confusion = confusion_of(eval, names.size());
  const auto per_class = per_class_of(confusion);
  nlohmann::json acc = nlohmann::json::object();
  for (size_t c = 0; c < names.size(); ++c) acc[names[c]] = per_class[c];
  return {{"per_class_accuracy", acc},
          {"confusion_matrix", {{"classes", names}, {"rows_true_columns_predicted", confusion}}}};
}

std::string evaluation_report(const data::Cifar10& test_set, const EvalResult& eval) {
  const auto& names = test_set.class_names;
  const auto confusion = confusion_of(eval, names.size());
  const auto per_class = per_class_of(confusion);
  std::ostringstream os;
  char buf[64];
  os << "per-class accuracy:\n";
  for (size_t c = 0; c < names.size(); ++c) {
    std::snprintf(buf, sizeof buf, "  %-11s %6.2f%%\n", names[c].c_str(), per_class[c]);
    os << buf;
  }
  os << "confusion matrix (rows: true class, columns: predicted):\n           ";
  for (size_t c = 0; c < names.size(); ++c) os << " " << names[c].substr(0, 5) << std::string(6 - std::min<size_t>(5, names[c].size()), ' ');
  os << "\n";
  for (size_t t = 0; t < names.size(); ++t) {
    std::snprintf(buf, sizeof buf, "%-11s", names[t].c_str());
    os << buf;
    for (int64_t v : confusion[t]) {
      std::snprintf(buf, sizeof buf, " %6lld", static_cast<long long>(v));
      os << buf;
    }
    os << "\n";
  }
  return os.str();
}

void write_lr_finder(const std::string& out_dir, const optim::LRFinderResult& lr) {
  std::ostringstream csv;
  csv << "lr,smoothed_loss\n";
  for (size_t i = 0; i < lr.lrs.size(); ++i) csv << lr.lrs[i] << "," << lr.losses[i] << "\n";
  write_file_atomically(out_dir + "/lr_finder.csv", csv.str());
  plots::line_chart(out_dir + "/lr_finder.png", "LR range test", "learning rate", "smoothed training loss",
                    {{"loss", lr.lrs, lr.losses}}, /*log_x=*/true, lr.suggested_index >= 0 ? lr.suggested_lr : NAN);
}

std::string write_comparison(const std::string& out_dir, const std::vector<RunResult>& runs) {
  std::ostringstream md;
  md << "# " << (runs.empty() ? "" : runs[0].recipe.model) << ": batch vs group vs layer normalization\n\n"
     << "CIFAR-10 test set; " << (runs.empty() ? "" : runs[0].device) << ".\n\n"
     << "| norm | params | epochs | best test acc | final test acc | with flip TTA | final train acc | time |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  std::vector<plots::Series> curves;
  char row[256];
  for (const RunResult& r : runs) {
    if (r.history.empty()) continue;
    const EpochRecord& last = r.history.back();
    std::string norm = r.recipe.norm;
    if (norm == "group") {
      const int64_t g = r.recipe.groups > 0 ? r.recipe.groups : models::model_info(r.recipe.model).default_groups;
      norm += " (" + std::to_string(g) + " groups)";
    }
    const auto [best, best_at] = best_epoch(r.history);
    double seconds = 0;
    for (const EpochRecord& e : r.history) seconds += e.seconds;
    char tta[32] = "—";  // measured on the final model only
    if (r.flip_tta_acc >= 0) std::snprintf(tta, sizeof tta, "%.2f%%", r.flip_tta_acc);
    std::snprintf(row, sizeof row, "| %s | %s | %lld | %.2f%% (epoch %lld) | %.2f%% | %s | %.2f%% | %s |\n",
                  norm.c_str(), nn::with_commas(r.params).c_str(), (long long)last.epoch, best, (long long)best_at,
                  last.test_acc, tta, last.train_acc, format_duration(seconds).c_str());
    md << row;
    plots::Series s{r.recipe.norm + " norm", {}, {}};
    for (const EpochRecord& e : r.history) s.x.push_back(double(e.epoch)), s.y.push_back(e.test_acc);
    curves.push_back(s);
  }
  md << "\nEach run's folder holds its metrics, checkpoints and pictures.\n";
  write_file_atomically(out_dir + "/comparison.md", md.str());
  if (!curves.empty())
    plots::line_chart(out_dir + "/comparison.png",
                      "Test accuracy by normalization (" + (runs.empty() ? std::string() : runs[0].recipe.model) + ")",
                      "epoch", "test accuracy (%)", curves);
  return md.str();
}

}  // namespace minidl::train

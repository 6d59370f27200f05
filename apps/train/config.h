// Everything a train_cifar run is configured with (one field per command-line flag). Saved in
// metrics.json and in every checkpoint, so a run can be resumed and its numbers reproduced.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace minidl::train {

struct TrainConfig {
  // what
  std::string model = "minidl50k";
  std::string norm = "batch";  // batch | group | layer (| all, handled by train_cifar)
  int64_t groups = 0;          // 0: the model's default
  double dropout = -1;         // < 0: the model's default
  // recipe
  int64_t epochs = 20;
  int64_t batch_size = 128;
  std::string optimizer = "sgd";  // sgd | adam | adamw
  double lr = 0.05;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  std::string scheduler = "onecycle";  // none | step | onecycle | plateau
  double max_lr = 0.2;
  double pct_start = 0.25;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool three_phase = false;
  std::string anneal = "cos";  // cos | linear
  int64_t step_size = 10;      // StepLR
  double gamma = 0.1;          // StepLR / ReduceLROnPlateau factor
  bool lr_find = false;
  std::string augment = "flip-crop";  // none | flip-crop | flip-crop-cutout
  double label_smoothing = 0.1;
  // where and how
  std::string device = "auto";  // auto | cpu | cuda
  std::string data = "datasets";
  std::string out;              // default: runs/<model>-<norm>
  uint64_t seed = 1;
  int threads = 0;              // 0: all cores
  int workers = 2;              // data loader threads
  int64_t limit_train = -1;     // first N training images (-1: all)
  std::string resume;           // checkpoint to continue from
  int64_t stop_after = -1;      // stop after this epoch, as if interrupted (for testing --resume)

  // Throws minidl::Error naming the flag and the value when something is out of range.
  void validate() const;
};

nlohmann::json to_json(const TrainConfig& c);
TrainConfig config_from_json(const nlohmann::json& j);

}  // namespace minidl::train

// What a train_cifar run is configured with, in two parts kept apart on purpose:
//   Recipe       what the run computes: model, optimizer, schedule, data, seed, ... Saved in every
//                checkpoint and in metrics.json; on --resume the saved recipe is the run, and a
//                recipe flag that disagrees with it is refused (see resume.h).
//   Environment  where and how it runs: device, threads, loader workers, output folder. Free to
//                change between a stop and a resume.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace minidl::train {

struct Recipe {
  std::string model = "minidl50k";
  std::string norm = "batch";  // batch | group | layer (| all, handled by train_cifar)
  int64_t groups = 0;          // 0: the model's default
  double dropout = -1;         // < 0: the model's default
  bool weight_std = false;     // weight-standardized convolutions (models that support it: minidl50k)
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
  bool lr_find = false;        // the LR range test picks lr (max_lr with onecycle); saved as picked
  std::string augment = "flip-crop";  // none | flip-crop | flip-crop-cutout
  std::string pad_fill = "zero";      // the crop's padding: zero (black pixels) | mean (the mean colour)
  double label_smoothing = 0.1;
  uint64_t seed = 1;
  int64_t limit_train = -1;  // first N training images (-1: all)
  std::string data = "datasets";  // made absolute when the run starts
  std::string data_fingerprint;   // of the images read (data::Cifar10::fingerprint), set at start

  // Throws minidl::Error naming the flag, the value and the allowed range.
  void validate() const;
};

struct Environment {
  std::string device = "auto";  // auto | cpu | cuda
  std::string out;              // run folder (see run_folder.h for the default)
  int threads = 0;              // 0: all cores
  int workers = 2;              // data loader threads
  int64_t stop_after = -1;      // stop after this epoch, as if interrupted (to try --resume)
  bool overwrite = false;       // replace a finished or partial run in --out
  std::string program = "train_cifar";  // how to call train_cifar in printed commands
  std::string resume_target;            // what a printed --resume names (default: out)

  void validate() const;
};

struct TrainConfig {
  Recipe recipe;
  Environment env;
  std::string resume;  // checkpoint.safetensors being continued (set by resume.h), or empty
};

// The recipe's fields: JSON key, command-line flag, and the value as JSON. One table drives
// saving, loading, comparing and printing commands, so they cannot drift apart.
struct RecipeField {
  const char* key;   // "max_lr"
  const char* flag;  // "--max-lr"
};
const std::vector<RecipeField>& recipe_fields();

nlohmann::json to_json(const Recipe& r);
nlohmann::json to_json(const Environment& e);
// Strict: every field present with the right type; errors name `where` (the file) and the field.
Recipe recipe_from_json(const nlohmann::json& j, const std::string& where);

// The recipe flags in `given` (JSON keys) that the recipe's optimizer and schedule never read, each
// as "--flag: why" (--lr under onecycle, --step-size outside step, --momentum with adam, ...).
// train_cifar refuses them: a flag that silently does nothing is a wrong result waiting to happen.
std::vector<std::string> unread_flags(const Recipe& r, const std::set<std::string>& given);
// Which flags each --scheduler and --optimizer reads, for --help.
std::string flags_read_help();

// The value of one field as it would be typed on the command line ("0.2", "true", "sgd").
std::string flag_value(const Recipe& r, const std::string& key);
// The command that trains this recipe from scratch: the program, every flag whose value differs
// from the defaults, --data and --out, and the environment flags (below). Values are shell-quoted.
std::string command_for(const Recipe& r, const Environment& e);
// The environment flags that differ from their defaults (" --threads 1 --workers 0 --device cpu"),
// so a printed continue / start-again command runs where the user ran it.
std::string environment_flags(const Environment& e);
// A path quoted for a POSIX shell when it needs it.
std::string shell_quote(const std::string& s);

}  // namespace minidl::train

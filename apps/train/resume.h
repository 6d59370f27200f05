// `train_cifar --resume PATH`: continues exactly the saved run.
//   PATH          a checkpoint.safetensors, the run folder holding it, or the folder of a
//                 --norm all run (its norm_all.json; each norm continues or starts in turn).
//   the recipe    is the saved one. A recipe flag given with --resume must equal the saved
//                 value, else the error names the flag, the saved value and the given one.
//                 --data may point at another copy of the same images (their fingerprint is
//                 compared when they are read).
//   --epochs N    the one change allowed: more epochs for a stopped or finished run, when the
//                 schedule allows it. OneCycle does not: its whole curve depends on the total
//                 number of steps, so the epochs already trained would belong to another
//                 schedule (start a new run instead). none, step and plateau continue.
//   the folder    is PATH's; --out, if given, must name the same folder.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "apps/train/checkpoint.h"
#include "apps/train/config.h"

namespace minidl::train {

// One message per field that differs, e.g. "--lr: the saved run has 0.2, the command gives 0.1".
// Only the keys in `keys` are compared (all when null); data and its fingerprint never are.
std::vector<std::string> recipe_differences(const Recipe& saved, const Recipe& given, bool allow_more_epochs,
                                            const std::set<std::string>* keys = nullptr);
// Throws (naming the checkpoint and the schedule) unless the run can be extended to `epochs`.
void check_extension(const Checkpoint& ckpt, int64_t epochs);

struct ResumePlan {
  std::vector<TrainConfig> runs;  // in order; a fresh run has resume empty
  std::string norm_all_dir;       // the --norm all folder (comparison.md goes there), else empty
};

// given: the recipe from the command line; given_keys: the recipe fields whose flags were typed.
ResumePlan plan_resume(const std::string& path, const Recipe& given, const std::set<std::string>& given_keys,
                       const Environment& env);

// norm_all.json of a --norm all folder: the recipe of each norm's run (they differ only in the
// norm and the model's per-norm defaults).
void write_norm_all(const std::string& dir, const std::vector<Recipe>& recipes);

}  // namespace minidl::train

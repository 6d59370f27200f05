// Recipe defaults that belong to a model (and norm) rather than to train_cifar as a whole: when
// a model trains best with its own recipe, `--model X` alone must give it. Each entry applies to
// a recipe field whose flag was not typed, and says why it exists; `train_cifar --help` and
// docs/results.md list them. Explicit flags always win.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "apps/train/config.h"

namespace minidl::train {

struct ModelRecipeDefault {
  std::string model;
  std::string norm;  // batch | group | layer, or "" for every norm
  std::string key;   // a Recipe field (config.h), e.g. "max_lr"
  std::string value; // as typed on the command line
  std::string why;
};
const std::vector<ModelRecipeDefault>& model_recipe_defaults();

// Applies the defaults of r.model / r.norm to every field not in `given`; returns the messages
// "--max-lr 0.1 (minidl50k with group norm: ...)" for what it changed.
std::vector<std::string> apply_model_defaults(Recipe& r, const std::set<std::string>& given);

// The table as text for --help.
std::string model_defaults_help();

}  // namespace minidl::train

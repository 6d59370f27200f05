// Per-model recipe defaults (apps/train/model_recipes.h): `--model X --norm N` alone gives the
// recipe that model trains best with, a typed flag always wins, other models are untouched, and
// every entry names a real recipe field with a value of the field's type.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "apps/train/config.h"
#include "apps/train/model_recipes.h"

using namespace minidl;
using namespace minidl::train;

TEST_CASE("a model's recipe defaults apply unless the flag was typed", "[train_cifar][recipe]") {
  Recipe r;
  r.model = "minidl50k";
  r.norm = "group";
  const std::vector<std::string> applied = apply_model_defaults(r, {});
  CHECK(r.weight_std);
  REQUIRE(applied.size() == 1);
  CHECK(applied[0].rfind("--weight-std true (minidl50k with group norm: ", 0) == 0);

  // Typed on the command line (even with the global default's value): left as typed.
  Recipe typed;
  typed.model = "minidl50k";
  typed.norm = "group";
  CHECK(apply_model_defaults(typed, {"weight_std"}).empty());
  CHECK_FALSE(typed.weight_std);

  // Batch norm and the other models keep the global defaults.
  for (const auto& [model, norm] : std::vector<std::pair<std::string, std::string>>{
           {"minidl50k", "batch"}, {"skipnet48k", "group"}, {"convnet39k", "layer"}}) {
    Recipe other;
    other.model = model;
    other.norm = norm;
    const nlohmann::json before = to_json(other);
    CHECK(apply_model_defaults(other, {}).empty());
    CHECK(to_json(other) == before);
  }
}

TEST_CASE("every model recipe default names a field and a value of its type", "[train_cifar][recipe]") {
  const std::string help = model_defaults_help();
  for (const ModelRecipeDefault& d : model_recipe_defaults()) {
    INFO(d.model << " " << d.norm << " " << d.key << " " << d.value);
    Recipe r;
    r.model = d.model;
    r.norm = d.norm.empty() ? "batch" : d.norm;
    const std::vector<std::string> applied = apply_model_defaults(r, {});
    CHECK_FALSE(applied.empty());
    CHECK(flag_value(r, d.key) == d.value);  // parsed as the field's type, not left as a string
    CHECK_NOTHROW(r.validate());
    CHECK_FALSE(d.why.empty());
    CHECK(help.find(d.model) != std::string::npos);
  }
}

#include "apps/train/evaluate_saved.h"

#include <cstdio>
#include <filesystem>

#include "apps/train/evaluate.h"
#include "apps/train/outputs.h"
#include "apps/train/run_folder.h"
#include "apps/train/setup.h"
#include "core/atomic_file.h"
#include "core/parallel.h"
#include "core/safetensors.h"
#include "data/dataloader.h"

namespace minidl::train {
namespace fs = std::filesystem;

double evaluate_saved(const EvaluateOptions& o) {
  o.env.validate();
  std::error_code ec;
  std::string file = o.weights;
  if (fs::is_directory(file, ec)) {
    if (!fs::exists(fs::path(file) / "model.safetensors", ec)) {
      std::string norms;  // a --norm all folder holds one run per norm
      for (const char* n : {"batch", "group", "layer"})
        if (fs::exists(fs::path(file) / n / "model.safetensors", ec)) norms += " " + (fs::path(file) / n).string();
      MINIDL_CHECK(norms.empty(), file, " is a --norm all folder: evaluate one norm's run at a time:", norms);
    }
    file = (fs::path(file) / "model.safetensors").string();
  }
  SafetensorsFile weights = load_safetensors(file);
  // A training checkpoint holds the model's tensors as "model.<name>" beside the optimizer's
  // "optimizer.<name>" (checkpoint.h): evaluate its model.
  bool is_checkpoint = false;
  for (const auto& [name, t] : weights.tensors) is_checkpoint |= name.rfind("optimizer.", 0) == 0;
  if (is_checkpoint) {
    NamedTensors model_part;
    for (const auto& [name, t] : weights.tensors)
      if (name.rfind("model.", 0) == 0) model_part.emplace_back(name.substr(6), t);
    weights.tensors = model_part;
  }
  Recipe recipe;
  const Metadata& m = weights.metadata;
  if (m.count("recipe")) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(m.at("recipe"));
    } catch (const nlohmann::json::exception&) {
      MINIDL_FAIL(file, ": metadata field 'recipe' is not valid JSON");
    }
    recipe = recipe_from_json(j, file);
  } else {
    MINIDL_CHECK(m.count("model") && m.count("norm"), file, ": no 'recipe' (nor 'model' and 'norm') in its metadata: "
                 "not a model.safetensors written by train_cifar");
    recipe.model = m.at("model");
    recipe.norm = m.at("norm");
    recipe.data = "";
  }
  if (!o.data.empty()) recipe.data = o.data;
  MINIDL_CHECK(!recipe.data.empty(), file, " does not say which data it was trained on: pass --data DIR");
  if (o.env.threads > 0) set_num_threads(o.env.threads);
  const Device device = pick_device(o.env.device);

  auto model = make_recipe_model(recipe);
  try {
    model->load_state_dict(weights.tensors);
  } catch (const Error& e) {
    MINIDL_FAIL(file, ": the weights do not fit ", recipe.model, " with ", recipe.norm, " norm: ", e.what());
  }
  model->to(device);
  const data::Cifar10 test = data::load_cifar10(recipe.data, data::Split::Test);
  const std::string note = data::records_note(test);
  if (!note.empty()) std::printf("note: not the official CIFAR-10 counts: %s\n", note.c_str());
  data::DataLoader loader(test, data::DataLoaderOptions().batch_size(500).shuffle(false).workers(o.env.workers)
                                    .device(device));
  const EvalResult eval = evaluate(*model, loader, /*flip_tta=*/true);

  const std::string out = o.out.empty() ? (fs::path(file).parent_path() / "evaluation").string() : o.out;
  MINIDL_CHECK(!holds_run(out), "--out '", out, "' holds a training run (", run_files_in(out).empty() ? "in its norm "
               "folders" : run_files_in(out).front(), "); the evaluation would replace its predictions.csv and "
               "pictures: choose another --out");
  fs::create_directories(out, ec);
  MINIDL_CHECK(!ec, "cannot create '", out, "': ", ec.message());
  const std::string what = recipe.model + ", " + recipe.norm + " norm";
  write_evaluation_files(out, what, test, eval);
  nlohmann::json j = {{"weights", absolute_path(file)}, {"data", absolute_path(test.folder)},
                            {"test_images", test.size()}, {"test_acc", eval.accuracy}, {"test_loss", eval.loss},
                            {"test_acc_flip_tta", eval.flip_tta_accuracy},
                            {"recipe", to_json(recipe)}};
  j.update(evaluation_json(test, eval));
  write_file_atomically(out + "/evaluation.json", j.dump(2) + "\n");
  std::printf("%s (%s): test accuracy %.2f%% (%lld images), test loss %.4f; with flip test-time augmentation "
              "%.2f%%\n%s", file.c_str(), what.c_str(), eval.accuracy, (long long)test.size(), eval.loss,
              eval.flip_tta_accuracy, evaluation_report(test, eval).c_str());
  std::printf("wrote %s/predictions.csv, evaluation.json and the pictures\n", out.c_str());
  return eval.accuracy;
}

}  // namespace minidl::train

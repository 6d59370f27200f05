// model_summary: prints the torchinfo-style summary of a zoo model.
//   model_summary --model skipnet48k --norm group --batch 128
#include <CLI/CLI.hpp>
#include <iostream>

#include "layers/models/zoo.h"
#include "layers/summary.h"

int main(int argc, char** argv) {
  using namespace minidl;
  CLI::App app{"Prints a model's layers, output shapes, parameters, mult-adds and receptive fields."};
  std::string model = "skipnet48k", norm = "batch";
  int64_t groups = 0, batch = 128;
  std::string names;
  for (const auto& n : models::model_names()) names += (names.empty() ? "" : ", ") + n;
  app.add_option("--model", model, "Model: " + names)->capture_default_str();
  app.add_option("--norm", norm, "Normalization: batch, group or layer")->capture_default_str();
  app.add_option("--groups", groups, "Group count for --norm group (0: the model's default)")->capture_default_str();
  app.add_option("--batch", batch, "Batch size of the input [N, 3, 32, 32]")->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  CLI11_PARSE(app, argc, argv);
  try {
    auto net = models::make_model(model, models::ModelOptions().norm(nn::parse_norm_kind(norm)).groups(groups));
    std::cout << nn::summarize(*net, model, {batch, 3, 32, 32}).str();
  } catch (const Error& e) {
    std::cerr << "model_summary: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

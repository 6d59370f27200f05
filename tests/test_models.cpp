// The model zoo: exact parameter counts with every norm, mult-adds, gradients, overfitting.
#include <catch2/catch.hpp>
#include <sstream>
#include <set>

#include <cmath>

#include "core/random.h"
#include "kernels/loss.h"
#include "layers/models/zoo.h"
#include "layers/summary.h"
#include "optim/adam.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

TEST_CASE("model parameter totals match the reference summaries with every norm", "[models]") {
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"minidl50k", 47890}, {"skipnet48k", 48136}, {"convnet39k", 39056}, {"gapnet39k", 39490}, {"c10net48k", 48178}, {"resnet9", 6573130}};
  for (const auto& [name, count] : expected)
    for (auto norm : {nn::NormKind::Batch, nn::NormKind::Group, nn::NormKind::Layer}) {
      INFO(name << " with " << nn::norm_kind_name(norm) << " norm");
      auto model = models::make_model(name, {norm});
      CHECK(model->num_parameters() == count);
      CHECK(model->num_parameters(/*trainable_only=*/true) == count);
      // Only batch norm has buffers (running statistics), and they are not parameters.
      CHECK(model->named_buffers().empty() == (norm != nn::NormKind::Batch));
    }
}

TEST_CASE("skipnet48k summary reports 48,136 params and 982.64M mult-adds at batch 128", "[models][summary]") {
  auto model = models::make_model("skipnet48k", {nn::NormKind::Group});
  const nn::Summary s = nn::summarize(*model, "skipnet48k", {128, 3, 32, 32});
  const std::string text = s.str();
  INFO(text);
  CHECK(text.find("Total params: 48,136") != std::string::npos);
  CHECK(text.find("Total mult-adds (M): 982.64") != std::string::npos);
  // torchinfo's memory estimates from the reference summary
  CHECK(text.find("Input size (MB): 1.57") != std::string::npos);
  CHECK(text.find("Forward/backward pass size (MB): 145.76") != std::string::npos);
  CHECK(text.find("Params size (MB): 0.19") != std::string::npos);
  CHECK(text.find("Estimated Total Size (MB): 147.53") != std::string::npos);
}

TEST_CASE("summary columns line up on the rows drawn with box characters", "[models][summary]") {
  auto model = models::make_model("skipnet48k");
  const std::string text = nn::summarize(*model, "skipnet48k", {128, 3, 32, 32}).str();
  // The "Output Shape" column starts at the same character (not byte) on every layer row.
  std::istringstream lines(text);
  std::string line;
  std::set<size_t> columns;
  while (std::getline(lines, line)) {
    const size_t at = line.find("[128,");
    if (at == std::string::npos) continue;
    size_t chars = 0;
    for (size_t i = 0; i < at; ++i) chars += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
    columns.insert(chars);
  }
  INFO(text);
  CHECK(columns.size() == 1);
}

TEST_CASE("summary receptive fields follow the windows", "[models][summary]") {
  auto model = models::make_model("convnet39k", {nn::NormKind::Batch});
  const nn::Summary s = nn::summarize(*model, "convnet39k", {1, 3, 32, 32});
  std::vector<int64_t> conv_rf;
  for (const auto& r : s.rows)
    if (r.type == "Conv2d") conv_rf.push_back(r.receptive_field);
  // 3x3: +2; 1x1: +0; max pool 2 (jump 1->2): +1; 3x3 at jump 2: +4; pool: +2 (jump 4); 3x3 at jump 4: +8;
  // avg pool 5 at jump 4: +16 (the 1x1 classifier sees a 60-pixel window: more than the image).
  CHECK(conv_rf == std::vector<int64_t>{3, 5, 5, 10, 14, 18, 18, 28, 36, 44, 60});
  // The skip blocks take the larger branch at the addition.
  auto skip = models::make_model("skipnet48k", {nn::NormKind::Batch});
  const nn::Summary ss = nn::summarize(*skip, "skipnet48k", {1, 3, 32, 32});
  for (const auto& r : ss.rows)
    if (r.name == "conv2" && r.depth == 1) CHECK(r.receptive_field == 7);  // 3 + 2 + 2
}

TEST_CASE("a group count that does not divide the widths is a clear error", "[models][errors]") {
  const auto o = models::ModelOptions().norm(nn::NormKind::Group).groups(3);
  CHECK_THROWS_WITH(models::make_model("skipnet48k", o), Catch::Contains("3 groups") && Catch::Contains("8, 16, 32"));
  CHECK_THROWS_WITH(models::make_model("nosuchnet"), Catch::Contains("skipnet48k"));
}

TEST_CASE("resnet9's width option scales every layer and only resnet9 has it", "[models][errors]") {
  // 26,350: the count PyTorch gives its twin (tests/reference/train_parity_reference.py, width 4).
  CHECK(models::make_model("resnet9", models::ModelOptions().width(4)).ptr()->num_parameters() == 26350);
  CHECK(models::make_model("resnet9", models::ModelOptions().width(64)).ptr()->num_parameters() == 6573130);
  CHECK_THROWS_WITH(models::make_model("skipnet48k", models::ModelOptions().width(4)),
                    Catch::Contains("only resnet9 has a width option"));
  // The group check follows the scaled widths: 32 groups do not divide width 8's first layer.
  CHECK_THROWS_WITH(models::make_model("resnet9", models::ModelOptions().width(8).norm(nn::NormKind::Group)),
                    Catch::Contains("32 groups") && Catch::Contains("8, 16, 32, 64"));
}

TEST_CASE("every model runs forward and backward with finite gradients", "[models]") {
  for (const std::string& name : models::model_names())
    for (auto norm : {nn::NormKind::Batch, nn::NormKind::Group, nn::NormKind::Layer}) {
      INFO(name << " with " << nn::norm_kind_name(norm) << " norm");
      manual_seed(1);
      auto model = models::make_model(name, {norm});
      Tensor out = (*model)(randn({2, 3, 32, 32}));
      CHECK(out.shape() == Shape{2, 10});
      ops::cross_entropy(out, labels({3, 7})).backward();
      for (auto& [pname, p] : model->named_parameters()) {
        INFO(pname);
        REQUIRE(p.grad().defined());
        for (double g : values(p.grad())) REQUIRE(std::isfinite(g));
      }
    }
}

TEST_CASE("a small model overfits 64 random images with Adam", "[models]") {
  manual_seed(2);
  auto model = models::make_model("convnet39k", {nn::NormKind::Batch});
  const Tensor x = randn({64, 3, 32, 32});
  std::vector<int64_t> y(64);
  for (int i = 0; i < 64; ++i) y[i] = (i * 7) % 10;
  const Tensor t = labels(y);
  optim::Adam opt(model->parameters(), optim::AdamOptions(3e-3));
  double loss = 0;
  for (int step = 0; step < 150 && (step == 0 || loss > 0.02); ++step) {
    opt.zero_grad();
    Tensor l = ops::cross_entropy((*model)(x), t);
    l.backward();
    opt.step();
    loss = l.item();
  }
  CHECK(loss < 0.05);
}

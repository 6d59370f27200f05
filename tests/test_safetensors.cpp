// safetensors files: round trip, atomic write, and clear errors on bad files.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::testing;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("minidl_test_" + name)).string();
}
}  // namespace

TEST_CASE("safetensors round trip keeps names, dtypes, shapes, values and metadata", "[safetensors]") {
  const std::string path = temp_path("roundtrip.safetensors");
  const NamedTensors in = {{"conv.weight", tensor({1, 2, 3, 4, 5, 6}, {2, 3})},
                           {"bn.running_var", tensor({0.25, 4}, {2}, DType::Float64)},
                           {"step", labels({7})},
                           {"empty", zeros({0, 3})}};
  save_safetensors(path, in, {{"epoch", "3"}, {"format", "pt"}});
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  const SafetensorsFile out = load_safetensors(path);
  REQUIRE(out.tensors.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK(out.tensors[i].first == in[i].first);
    CHECK(out.tensors[i].second.dtype() == in[i].second.dtype());
    CHECK(out.tensors[i].second.shape() == in[i].second.shape());
    CHECK(values(out.tensors[i].second) == values(in[i].second));
  }
  CHECK(out.metadata.at("epoch") == "3");
  // The header length is a multiple of 8, as the format recommends.
  std::ifstream f(path, std::ios::binary);
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  CHECK(len[0] % 8 == 0);
  std::remove(path.c_str());
}

TEST_CASE("safetensors errors name the file and the problem", "[safetensors][errors]") {
  CHECK_THROWS_WITH(load_safetensors("/nonexistent/model.safetensors"), Catch::Contains("/nonexistent/model.safetensors"));
  const std::string path = temp_path("bad.safetensors");
  save_safetensors(path, {{"w", tensor({1, 2, 3, 4}, {4})}});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 4);  // cut the data short
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains(path) && Catch::Contains("'w'"));
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    const char header[8] = {5, 0, 0, 0, 0, 0, 0, 0};
    f.write(header, 8);
    f.write("{nope", 5);
  }
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("not valid JSON"));
  std::remove(path.c_str());
  CHECK_THROWS_WITH(save_safetensors("/nonexistent/dir/x.safetensors", {}), Catch::Contains("/nonexistent/dir"));
}

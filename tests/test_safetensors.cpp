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

namespace {
// A safetensors file with this header JSON and `data_bytes` zero bytes of data.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>(n >> (8 * i)));
  f << header << std::string(data_bytes, '\0');
}
}  // namespace

TEST_CASE("safetensors data_offsets must tile the data area exactly", "[safetensors][errors]") {
  const std::string path = temp_path("tiling.safetensors");
  // Overlap: the bias shares the weight's bytes.
  write_raw(path, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains(path) && Catch::Contains("overlaps"));
  // A gap between two tensors.
  write_raw(path, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("unused bytes before tensor 'b'"));
  // Past the end of the file.
  write_raw(path, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("past the end"));
  // Bytes after the last tensor.
  write_raw(path, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("8 bytes after the last tensor"));
  // end before begin, and offsets that do not match the shape.
  write_raw(path, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("end before they begin"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("needs 8"));
  std::remove(path.c_str());
}

TEST_CASE("safetensors sizes are overflow-checked before anything is allocated", "[safetensors][errors]") {
  const std::string path = temp_path("overflow.safetensors");
  // [2^62] F32: 2^64 bytes, which wraps to 0 in 64-bit arithmetic.
  write_raw(path, R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("'w'") && Catch::Contains("overflows"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("overflows"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("non-negative integers"));
  // The same checks guard Shape and Tensor themselves.
  CHECK_THROWS_WITH(Shape({int64_t(1) << 40, int64_t(1) << 40}).numel(), Catch::Contains("more than 2^63"));
  std::remove(path.c_str());
}

TEST_CASE("safetensors header fields are type-checked, naming the field", "[safetensors][errors]") {
  const std::string path = temp_path("fields.safetensors");
  write_raw(path, R"({"w":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})", 4);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("'w'") && Catch::Contains("'dtype' must be a string"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("'shape' must be an array"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[1]}})", 4);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("missing field 'data_offsets'"));
  write_raw(path, R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("'data_offsets' must be two"));
  write_raw(path, R"({"__metadata__":{"epoch":3}})", 0);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("__metadata__ field 'epoch' must be a string"));
  write_raw(path, R"([1,2])", 0);
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("not a JSON object"));
  std::remove(path.c_str());
}

TEST_CASE("safetensors names a folder or an unreadable path", "[safetensors][errors]") {
  const std::string dir = temp_path("a_folder");
  std::filesystem::create_directories(dir);
  CHECK_THROWS_WITH(load_safetensors(dir), Catch::Contains(dir) && Catch::Contains("is a folder"));
  std::filesystem::remove_all(dir);
  const std::string path = temp_path("huge_header.safetensors");
  {
    std::ofstream f(path, std::ios::binary);
    const char len[8] = {0, 0, 0, 0, 0, 0, 0, 0x7f};  // 2^62-ish header size in a 16-byte file
    f.write(len, 8);
    f << "{}      ";
  }
  CHECK_THROWS_WITH(load_safetensors(path), Catch::Contains("exceeds the file"));
  std::remove(path.c_str());
}

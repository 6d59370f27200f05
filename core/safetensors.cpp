#include "core/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace minidl {
namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
  }
  return "?";
}

DType from_st_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return DType::Float32;
  if (s == "F64") return DType::Float64;
  if (s == "I64") return DType::Int64;
  MINIDL_FAIL(path, ": tensor '", name, "' has dtype ", s, "; minidl reads F32, F64 and I64");
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  std::vector<Tensor> host;
  for (const auto& [name, t] : tensors) {
    MINIDL_CHECK(!header.contains(name), "save_safetensors: duplicate tensor name '", name, "'");
    host.push_back(t.detach().to(Device::cpu()));
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape().dims()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    MINIDL_CHECK(f.good(), "cannot write '", tmp, "' (does the folder exist and is it writable?)");
    uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Tensor& t : host) f.write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
    f.flush();
    MINIDL_CHECK(f.good(), "error writing '", tmp, "' (disk full?)");
  }
  MINIDL_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename '", tmp, "' to '", path, "'");
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  MINIDL_CHECK(f.good(), "cannot open '", path, "': no such file or not readable");
  const auto size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  MINIDL_CHECK(size >= 8, path, ": not a safetensors file (", size, " bytes, shorter than the 8-byte header size)");
  unsigned char len[8];
  f.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  MINIDL_CHECK(n <= size - 8, path, ": header size ", n, " exceeds the file (", size, " bytes): truncated or not safetensors");
  std::string text(n, '\0');
  f.read(text.data(), static_cast<std::streamsize>(n));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    MINIDL_FAIL(path, ": the header is not valid JSON (", e.what(), ")");
  }
  MINIDL_CHECK(header.is_object(), path, ": the header is not a JSON object");
  SafetensorsFile out;
  const uint64_t data_size = size - 8 - n;
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      for (auto m = it.value().begin(); m != it.value().end(); ++m) out.metadata[m.key()] = m.value().get<std::string>();
      continue;
    }
    try {
      order.emplace_back(it.value().at("data_offsets").at(0).get<uint64_t>(), it.key());
    } catch (const std::exception&) {
      MINIDL_FAIL(path, ": tensor '", it.key(), "' has no data_offsets");
    }
  }
  std::sort(order.begin(), order.end());
  for (const auto& [begin, name] : order) {
    const auto& e = header[name];
    std::vector<int64_t> dims;
    uint64_t end = 0;
    std::string dtype;
    try {
      dims = e.at("shape").get<std::vector<int64_t>>();
      end = e.at("data_offsets").at(1).get<uint64_t>();
      dtype = e.at("dtype").get<std::string>();
    } catch (const std::exception& ex) {
      MINIDL_FAIL(path, ": bad entry for tensor '", name, "' (", ex.what(), ")");
    }
    Tensor t = empty(Shape(dims), from_st_dtype(dtype, path, name));
    MINIDL_CHECK(end >= begin && end - begin == t.nbytes() && end <= data_size, path, ": tensor '", name,
                 "' has data_offsets [", begin, ", ", end, "] but shape ", t.shape(), " ", dtype, " needs ", t.nbytes(),
                 " bytes of the ", data_size, " data bytes");
    f.seekg(static_cast<std::streamoff>(8 + n + begin));
    f.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
    MINIDL_CHECK(f.good(), path, ": could not read the data of tensor '", name, "' (truncated file?)");
    out.tensors.emplace_back(name, t);
  }
  return out;
}

}  // namespace minidl

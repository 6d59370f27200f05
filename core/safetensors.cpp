#include "core/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"

namespace minidl {
namespace {

// The format's own limit on the JSON header (100 MB): a larger "size" is a corrupt file, and
// refusing it early avoids allocating whatever the first 8 bytes say.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

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

// One header entry, checked field by field before anything is allocated.
struct Entry {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<int64_t> dims;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& e) {
  const std::string where = path + ": tensor '" + name + "'";
  MINIDL_CHECK(e.is_object(), where, ": expected an object with dtype, shape and data_offsets, got ", e.type_name());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    MINIDL_CHECK(e.contains(key), where, ": missing field '", key, "'");
  Entry out;
  out.name = name;
  MINIDL_CHECK(e["dtype"].is_string(), where, ": field 'dtype' must be a string, got ", e["dtype"].dump());
  out.dtype = from_st_dtype(e["dtype"].get<std::string>(), path, name);
  const auto& shape = e["shape"];
  MINIDL_CHECK(shape.is_array(), where, ": field 'shape' must be an array, got ", shape.dump());
  for (const auto& d : shape) {
    MINIDL_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), where,
                 ": field 'shape' must hold non-negative integers, got ", shape.dump());
    MINIDL_CHECK(d.is_number_integer() || d.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX), where,
                 ": a size in 'shape' is too large: ", shape.dump());
    out.dims.push_back(d.get<int64_t>());
  }
  const auto& off = e["data_offsets"];
  MINIDL_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), where,
               ": field 'data_offsets' must be two non-negative integers [begin, end], got ", off.dump());
  out.begin = off[0].get<uint64_t>();
  out.end = off[1].get<uint64_t>();
  MINIDL_CHECK(out.begin <= out.end, where, ": data_offsets [", out.begin, ", ", out.end, "] end before they begin");
  // numel * dtype size, overflow-checked (a shape of [2^62] F32 must not wrap around to 0 bytes).
  uint64_t bytes = dtype_size(out.dtype);
  for (int64_t d : out.dims)
    MINIDL_CHECK(!__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes), where, ": shape ",
                 shape.dump(), " is too large (its byte count overflows 64 bits)");
  MINIDL_CHECK(out.end - out.begin == bytes, where, ": data_offsets [", out.begin, ", ", out.end, "] hold ",
               out.end - out.begin, " bytes but shape ", shape.dump(), " ", e["dtype"].get<std::string>(), " needs ",
               bytes);
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  std::vector<Tensor> host;
  for (const auto& [name, t] : tensors) {
    MINIDL_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is reserved, not a tensor name");
    MINIDL_CHECK(!header.contains(name), "save_safetensors: duplicate tensor name '", name, "'");
    host.push_back(t.detach().to(Device::cpu()));
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape().dims()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  AtomicFile f(path);  // unique temp file, checked writes, fsync, rename, fsync of the folder
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  f.write(len, 8);
  f.write(text.data(), text.size());
  for (const Tensor& t : host) f.write(t.raw_data(), t.nbytes());
  f.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    MINIDL_FAIL("cannot open '", path, "': ", std::strerror(err));
  }
  MINIDL_CHECK(!S_ISDIR(st.st_mode), "'", path, "' is a folder; expected a .safetensors file");
  MINIDL_CHECK(S_ISREG(st.st_mode), "'", path, "' is not a regular file; expected a .safetensors file");
  std::ifstream f(path, std::ios::binary);
  if (!f.is_open()) {
    const int err = errno;
    MINIDL_FAIL("cannot open '", path, "': ", std::strerror(err));
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  MINIDL_CHECK(size >= 8, path, ": not a safetensors file (", size, " bytes, shorter than the 8-byte header size)");
  auto read_exactly = [&](void* dst, uint64_t n, const std::string& what) {
    f.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    MINIDL_CHECK(f.good() && static_cast<uint64_t>(f.gcount()) == n, path, ": could not read ", what, " (", n,
                 " bytes; read ", f.gcount(), "): truncated or unreadable file");
  };
  unsigned char len[8];
  read_exactly(len, 8, "the header size");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  MINIDL_CHECK(n <= size - 8, path, ": header size ", n, " exceeds the file (", size, " bytes): truncated or not safetensors");
  MINIDL_CHECK(n <= kMaxHeaderBytes, path, ": header size ", n, " is over the format's limit of ", kMaxHeaderBytes,
               " bytes: not a safetensors file");
  std::string text(n, '\0');
  read_exactly(text.data(), n, "the JSON header");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    MINIDL_FAIL(path, ": the header is not valid JSON (", e.what(), ")");
  }
  MINIDL_CHECK(header.is_object(), path, ": the header is not a JSON object");

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      MINIDL_CHECK(it.value().is_object(), path, ": __metadata__ must be an object of strings, got ", it.value().type_name());
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        MINIDL_CHECK(m.value().is_string(), path, ": __metadata__ field '", m.key(), "' must be a string, got ",
                     m.value().dump());
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), it.value()));
  }
  // The data area must be tiled exactly by the tensors, in offset order: no overlap (two tensors
  // sharing bytes), no gap, nothing past the end of the file.
  const uint64_t data_size = size - 8 - n;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < expected)
      MINIDL_FAIL(path, ": tensor '", e.name, "' (bytes [", e.begin, ", ", e.end, ")) overlaps tensor '", prev->name,
                  "' (bytes [", prev->begin, ", ", prev->end, "))");
    MINIDL_CHECK(e.begin == expected, path, ": ", e.begin - expected, " unused bytes before tensor '", e.name,
                 "' (data_offsets must tile the data area)");
    MINIDL_CHECK(e.end <= data_size, path, ": tensor '", e.name, "' has data_offsets [", e.begin, ", ", e.end,
                 "] past the end of the ", data_size, " data bytes (truncated file?)");
    expected = e.end;
    prev = &e;
  }
  MINIDL_CHECK(expected == data_size, path, ": ", data_size - expected, " bytes after the last tensor are not "
               "described by the header (data_offsets must tile the data area)");
  // Read in offset order: the order the writer wrote them (nlohmann::json sorts the keys).
  for (const Entry& e : entries) {
    Tensor t = empty(Shape(e.dims), e.dtype);
    f.seekg(static_cast<std::streamoff>(8 + n + e.begin));
    if (t.nbytes()) read_exactly(t.raw_data(), t.nbytes(), "the data of tensor '" + e.name + "'");
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace minidl

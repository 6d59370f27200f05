// CIFAR-10 binary reader. Each file is read in one go into a byte buffer and split into labels
// and pixels (the pixel layout of the file is already the [C, H, W] layout the tensors use).
#include "data/cifar10.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace minidl::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWhereFrom =
    "get it with `data/prepare_cifar10.sh DIR` (it builds or downloads the official binary version, "
    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, into DIR/cifar-10-batches-bin)";

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// dir itself, or dir/cifar-10-batches-bin when that folder exists.
fs::path resolve_folder(const std::string& dir, Split split) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found)
    MINIDL_FAIL("CIFAR-10: folder '", dir, "' does not exist; expected the binary version's cifar-10-batches-bin "
                "folder (or its parent) with ", join(cifar10_files(split)), " for the ", split_name(split),
                " split; ", kWhereFrom);
  MINIDL_CHECK(!ec, "CIFAR-10: cannot access '", dir, "': ", ec.message());
  MINIDL_CHECK(st.type() == fs::file_type::directory, "CIFAR-10: '", dir, "' is a file, not a folder; --data "
               "expects the cifar-10-batches-bin folder (or its parent) that holds ", join(cifar10_files(split)));
  const fs::path nested = fs::path(dir) / "cifar-10-batches-bin";
  return fs::is_directory(nested, ec) ? nested : fs::path(dir);
}

// Names what is at `path` when it is not a readable regular file.
void check_is_file(const fs::path& path, const fs::path& folder, Split split) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  const auto files = cifar10_files(split);
  if (st.type() == fs::file_type::not_found)
    MINIDL_FAIL("CIFAR-10: missing file '", path.string(), "' (the ", split_name(split), " split needs ", join(files),
                " in '", folder.string(), "'); ", kWhereFrom);
  MINIDL_CHECK(!ec, "CIFAR-10: cannot access '", path.string(), "': ", ec.message());
  MINIDL_CHECK(st.type() != fs::file_type::directory, "CIFAR-10: '", path.string(),
               "' is a folder; expected the data file of that name");
  MINIDL_CHECK(st.type() == fs::file_type::regular, "CIFAR-10: '", path.string(), "' is not a regular file");
}

// 64-bit mix of the bytes (FNV-1a over 8-byte words with a final avalanche): fast enough to run
// on every load (~30 ms for the training set), and any changed byte changes it.
uint64_t hash_bytes(const uint8_t* p, size_t n, uint64_t h) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

// Appends up to `wanted` records of `path` to out (all of them when wanted < 0).
void read_file(const fs::path& path, int64_t wanted, Cifar10& out, uint64_t* hash) {
  const int64_t R = Cifar10::kRecordBytes;
  std::error_code ec;
  const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  MINIDL_CHECK(!ec, "CIFAR-10: cannot read the size of '", path.string(), "': ", ec.message());
  // Before any allocation: a huge (or sparse) file is refused, not attempted.
  MINIDL_CHECK(bytes <= Cifar10::kOfficialRecordsPerFile * R, "CIFAR-10: file '", path.string(), "' has ", bytes,
               " bytes (", bytes / R, " records); a CIFAR-10 batch file holds at most ",
               Cifar10::kOfficialRecordsPerFile, " records (", Cifar10::kOfficialRecordsPerFile * R, " bytes)");
  MINIDL_CHECK(bytes > 0, "CIFAR-10: file '", path.string(), "' is empty (expected records of ", R,
               " bytes: 1 label byte + 3072 pixel bytes); the download or extraction failed? ", kWhereFrom);
  MINIDL_CHECK(bytes % R == 0, "CIFAR-10: file '", path.string(), "' has ", bytes, " bytes, not a multiple of the ",
               R, "-byte record (1 label byte + 3072 pixel bytes): it is truncated or not the binary version "
               "(the python and matlab versions do not work); ", kWhereFrom);
  const int64_t records = wanted < 0 ? bytes / R : std::min(wanted, bytes / R);

  out.file_records.emplace_back(path.filename().string(), bytes / R);
  std::vector<uint8_t> buf(static_cast<size_t>(records * R));
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    const int err = errno;
    MINIDL_FAIL("CIFAR-10: cannot open '", path.string(), "': ", std::strerror(err));
  }
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  MINIDL_CHECK(in && in.gcount() == static_cast<std::streamsize>(buf.size()), "CIFAR-10: could not read ",
               buf.size(), " bytes from '", path.string(), "' (read ", in.gcount(), ")");

  const size_t first = out.labels.size();
  out.labels.resize(first + static_cast<size_t>(records));
  out.pixels.resize(out.labels.size() * static_cast<size_t>(Cifar10::kImageBytes));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* rec = buf.data() + r * R;
    MINIDL_CHECK(rec[0] < Cifar10::kNumClasses, "CIFAR-10: file '", path.string(), "', record ", r, ": label ",
                 static_cast<int>(rec[0]), " is outside 0-9 (not the CIFAR-10 binary version?)");
    out.labels[first + r] = rec[0];
    std::memcpy(out.pixels.data() + (first + r) * Cifar10::kImageBytes, rec + 1, Cifar10::kImageBytes);
  }
  *hash = hash_bytes(buf.data(), buf.size(), *hash);
}

}  // namespace

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

namespace {
// The official archive names the classes in batches.meta.txt, one per line: used when it holds
// exactly ten names, else the official list.
std::vector<std::string> class_names_in(const fs::path& folder) {
  std::ifstream f(folder / "batches.meta.txt");
  std::vector<std::string> names;
  for (std::string line; std::getline(f, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() == cifar10_class_names().size()) return names;
  return cifar10_class_names();
}
}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

std::vector<std::string> cifar10_files(Split split) {
  if (split == Split::Test) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
}

Cifar10 load_cifar10(const std::string& dir, Split split, int64_t limit) {
  const fs::path folder = resolve_folder(dir, split);
  const auto files = cifar10_files(split);
  // Every file must be there, even those a limit will not reach: a half-extracted folder is an
  // error worth reporting early.
  for (const auto& f : files) check_is_file(folder / f, folder, split);
  Cifar10 out;
  out.folder = folder.string();
  out.split = split;
  out.class_names = class_names_in(folder);
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const auto& f : files) {
    if (limit >= 0 && out.size() >= limit) {
      // Not read, but counted and size-checked, so records_note() covers every file.
      std::error_code ec;
      const auto bytes = static_cast<int64_t>(fs::file_size(folder / f, ec));
      out.file_records.emplace_back(f, ec ? -1 : bytes / Cifar10::kRecordBytes);
      continue;
    }
    read_file(folder / f, limit < 0 ? -1 : limit - out.size(), out, &hash);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  out.fingerprint = hex;
  return out;
}

std::string records_note(const Cifar10& split) {
  std::string note;
  for (const auto& [file, n] : split.file_records) {
    if (n == Cifar10::kOfficialRecordsPerFile) continue;
    note += (note.empty() ? "" : "; ") + file + " holds " + std::to_string(n) + " records (the official file: " +
            std::to_string(Cifar10::kOfficialRecordsPerFile) + ")";
  }
  return note;
}

}  // namespace minidl::data

// CIFAR-10 binary reader. Each file is read in one go into a byte buffer and split into labels
// and pixels (the pixel layout of the file is already the [C, H, W] layout the tensors use).
#include "data/cifar10.h"

#include <algorithm>
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
  MINIDL_CHECK(fs::is_directory(dir, ec), "CIFAR-10: folder '", dir,
               "' does not exist; expected the binary version's cifar-10-batches-bin folder (or its parent) with ",
               join(cifar10_files(split)), " for the ", split_name(split), " split; ", kWhereFrom);
  const fs::path nested = fs::path(dir) / "cifar-10-batches-bin";
  return fs::is_directory(nested, ec) ? nested : fs::path(dir);
}

// Appends up to `wanted` records of `path` to out (all of them when wanted < 0).
void read_file(const fs::path& path, int64_t wanted, Cifar10& out) {
  const int64_t R = Cifar10::kRecordBytes;
  std::error_code ec;
  const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  MINIDL_CHECK(!ec, "CIFAR-10: cannot read the size of '", path.string(), "': ", ec.message());
  MINIDL_CHECK(bytes > 0, "CIFAR-10: file '", path.string(), "' is empty (expected records of ", R,
               " bytes: 1 label byte + 3072 pixel bytes); the download or extraction failed? ", kWhereFrom);
  MINIDL_CHECK(bytes % R == 0, "CIFAR-10: file '", path.string(), "' has ", bytes, " bytes, not a multiple of the ",
               R, "-byte record (1 label byte + 3072 pixel bytes): it is truncated or not the binary version "
               "(the python and matlab versions do not work); ", kWhereFrom);
  const int64_t records = wanted < 0 ? bytes / R : std::min(wanted, bytes / R);

  std::vector<uint8_t> buf(static_cast<size_t>(records * R));
  std::ifstream in(path, std::ios::binary);
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
}

}  // namespace

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

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
  for (const auto& f : files) {
    std::error_code ec;
    MINIDL_CHECK(fs::is_regular_file(folder / f, ec), "CIFAR-10: missing file '", (folder / f).string(), "' (the ",
                 split_name(split), " split needs ", join(files), " in '", folder.string(), "'); ", kWhereFrom);
  }
  Cifar10 out;
  out.folder = folder.string();
  out.split = split;
  out.class_names = cifar10_class_names();
  for (const auto& f : files) {
    if (limit >= 0 && out.size() >= limit) break;
    read_file(folder / f, limit < 0 ? -1 : limit - out.size(), out);
  }
  return out;
}

}  // namespace minidl::data

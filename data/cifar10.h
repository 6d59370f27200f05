// CIFAR-10 reader for the official "binary version" (cifar-10-binary.tar.gz): the folder
// cifar-10-batches-bin/ with data_batch_1.bin ... data_batch_5.bin (training, 10,000 images each)
// and test_batch.bin (10,000). One record = 1 label byte (0-9) + 3,072 pixel bytes: the 1,024 red
// values, then green, then blue, each a 32x32 plane in row-major order. No header, no footer.
//
//   auto train = data::load_cifar10("datasets", data::Split::Train);   // 50,000 images
//   const uint8_t* img = train.image(7);  int64_t y = train.labels[7];
//
// Every problem with the files (missing, a folder where a file belongs, unreadable, truncated, a
// bad label, more than the 10,000 records an official file holds) throws minidl::Error naming the
// path and the value, and says where the dataset comes from; nothing is allocated for a file
// before its size is checked. Files with fewer records than the official 10,000 are read (tests
// and subsets use them); records_note() says when a split differs from the official counts.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace minidl::data {

enum class Split { Train, Test };
const char* split_name(Split split);  // "train" / "test"

struct Cifar10 {
  static constexpr int64_t kChannels = 3, kHeight = 32, kWidth = 32;
  static constexpr int64_t kImageBytes = kChannels * kHeight * kWidth;  // 3,072
  static constexpr int64_t kRecordBytes = 1 + kImageBytes;               // 3,073
  static constexpr int64_t kNumClasses = 10;
  static constexpr int64_t kOfficialRecordsPerFile = 10000;

  std::vector<uint8_t> pixels;           // size() * 3,072 bytes, image i at pixels[i * 3072]
  std::vector<int64_t> labels;           // size() values in 0..9
  std::vector<std::string> class_names;  // airplane automobile bird cat deer dog frog horse ship truck
  std::string folder;                    // the cifar-10-batches-bin folder it was read from
  Split split = Split::Train;
  // Records found in each file of the split (file name, count), whether or not a limit read them.
  std::vector<std::pair<std::string, int64_t>> file_records;
  // A 64-bit hash of the records read (labels and pixels), as 16 hex digits: the same images in
  // the same order give the same fingerprint wherever the folder is.
  std::string fingerprint;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * kImageBytes; }
};

// The ten class names in the official order (label 0 is "airplane").
const std::vector<std::string>& cifar10_class_names();
// The files of a split, in reading order: data_batch_1.bin .. data_batch_5.bin, or test_batch.bin.
std::vector<std::string> cifar10_files(Split split);

// Reads a split. `dir` is the cifar-10-batches-bin folder itself or its parent (the DIR given to
// data/prepare_cifar10.sh). limit >= 0 keeps only the first `limit` images (read no further);
// a negative limit reads everything.
Cifar10 load_cifar10(const std::string& dir, Split split, int64_t limit = -1);

// Empty when every file of the split holds the official 10,000 records; else a line naming each
// file that does not, e.g. "test_batch.bin holds 5,000 records (the official file: 10,000)".
std::string records_note(const Cifar10& split);

}  // namespace minidl::data

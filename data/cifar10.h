// CIFAR-10 reader for the official "binary version" (cifar-10-binary.tar.gz): the folder
// cifar-10-batches-bin/ with data_batch_1.bin ... data_batch_5.bin (training, 10,000 images each)
// and test_batch.bin (10,000). One record = 1 label byte (0-9) + 3,072 pixel bytes: the 1,024 red
// values, then green, then blue, each a 32x32 plane in row-major order. No header, no footer.
//
//   auto train = data::load_cifar10("datasets", data::Split::Train);   // 50,000 images
//   const uint8_t* img = train.image(7);  int64_t y = train.labels[7];
//
// Every problem with the files (missing, truncated, a bad label) throws minidl::Error naming the
// path and the value, and says where the dataset comes from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace minidl::data {

enum class Split { Train, Test };
const char* split_name(Split split);  // "train" / "test"

struct Cifar10 {
  static constexpr int64_t kChannels = 3, kHeight = 32, kWidth = 32;
  static constexpr int64_t kImageBytes = kChannels * kHeight * kWidth;  // 3,072
  static constexpr int64_t kRecordBytes = 1 + kImageBytes;               // 3,073
  static constexpr int64_t kNumClasses = 10;

  std::vector<uint8_t> pixels;           // size() * 3,072 bytes, image i at pixels[i * 3072]
  std::vector<int64_t> labels;           // size() values in 0..9
  std::vector<std::string> class_names;  // airplane automobile bird cat deer dog frog horse ship truck
  std::string folder;                    // the cifar-10-batches-bin folder it was read from
  Split split = Split::Train;

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

}  // namespace minidl::data

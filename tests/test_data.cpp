// CIFAR-10 reader (on small files written in the official format into a temp folder) and the
// DataLoader (on an in-memory dataset): order, coverage, shuffling, shutdown, errors.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/cifar10.h"
#include "data/dataloader.h"
#include "test_util.h"

using namespace minidl;
using namespace minidl::data;
using namespace minidl::testing;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("minidl_test_data_" + std::to_string(std::random_device{}()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Pixel k of record r of file f: the R, G, B planes of an image are filled with distinct,
// position-dependent values, so a reader that mixes up records or planes fails.
uint8_t pixel(int f, int r, int k) { return static_cast<uint8_t>(f * 31 + r * 7 + (k / 1024) * 50 + k % 13); }
int label_of(int f, int r) { return (f * 3 + r) % 10; }

void write_bytes(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// `records` records of file number f (1..5 train, 6 = test) in the official layout.
std::vector<uint8_t> make_records(int f, int records) {
  std::vector<uint8_t> b;
  for (int r = 0; r < records; ++r) {
    b.push_back(static_cast<uint8_t>(label_of(f, r)));
    for (int k = 0; k < 3072; ++k) b.push_back(pixel(f, r, k));
  }
  return b;
}

// DIR/cifar-10-batches-bin/ with 3 records per training file and 4 in test_batch.bin.
fs::path make_cifar(const fs::path& dir) {
  const fs::path bin = dir / "cifar-10-batches-bin";
  fs::create_directories(bin);
  for (int f = 1; f <= 5; ++f) write_bytes(bin / ("data_batch_" + std::to_string(f) + ".bin"), make_records(f, 3));
  write_bytes(bin / "test_batch.bin", make_records(6, 4));
  return bin;
}

// An in-memory dataset of n images; image i is filled with (i * 37 + k) % 256, label i % 10.
Cifar10 synthetic(int64_t n) {
  Cifar10 d;
  d.labels.resize(n);
  d.pixels.resize(n * Cifar10::kImageBytes);
  for (int64_t i = 0; i < n; ++i) {
    d.labels[i] = i % 10;
    for (int64_t k = 0; k < Cifar10::kImageBytes; ++k) d.pixels[i * Cifar10::kImageBytes + k] = (i * 37 + k) % 256;
  }
  d.class_names = cifar10_class_names();
  return d;
}

// All batches of one epoch.
std::vector<Batch> run_epoch(DataLoader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

std::vector<int64_t> all_indices(const std::vector<Batch>& batches) {
  std::vector<int64_t> v;
  for (const auto& b : batches) v.insert(v.end(), b.indices.begin(), b.indices.end());
  return v;
}

}  // namespace

// ---- reader ------------------------------------------------------------------------------------

TEST_CASE("reader reads generated files in the official format", "[data]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  const Cifar10 train = load_cifar10(bin.string(), Split::Train);
  REQUIRE(train.size() == 15);
  REQUIRE(train.pixels.size() == 15 * 3072u);
  CHECK(train.folder == bin.string());
  for (int f = 1; f <= 5; ++f)
    for (int r = 0; r < 3; ++r) {
      const int64_t i = (f - 1) * 3 + r;
      CHECK(train.labels[i] == label_of(f, r));
      // First pixel of each plane (R at 0, G at 1024, B at 2048) and the last byte of the image.
      for (int k : {0, 1, 1024, 2048, 3071}) CHECK(train.image(i)[k] == pixel(f, r, k));
    }
  const Cifar10 test = load_cifar10(bin.string(), Split::Test);
  REQUIRE(test.size() == 4);
  CHECK(test.labels[3] == label_of(6, 3));
  CHECK(test.image(3)[2047] == pixel(6, 3, 2047));
  CHECK(test.class_names.size() == 10);
  CHECK(test.class_names.front() == "airplane");
  CHECK(test.class_names[3] == "cat");
  CHECK(test.class_names.back() == "truck");
}

TEST_CASE("reader reports a missing folder", "[data][errors]") {
  TempDir tmp;
  const std::string dir = (tmp.path / "no_such_folder").string();
  CHECK_THROWS_WITH(load_cifar10(dir, Split::Train), Catch::Contains(dir) && Catch::Contains("data_batch_1.bin") &&
                                                         Catch::Contains("prepare_cifar10.sh") &&
                                                         Catch::Contains("cifar-10-binary.tar.gz"));
}

TEST_CASE("reader reports a missing file", "[data][errors]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  fs::remove(bin / "data_batch_3.bin");
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Train),
                    Catch::Contains((bin / "data_batch_3.bin").string()) && Catch::Contains("data_batch_5.bin") &&
                        Catch::Contains("prepare_cifar10.sh"));
  fs::remove(bin / "test_batch.bin");
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Test), Catch::Contains("test_batch.bin"));
  // A limit does not hide a missing file.
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Train, 1), Catch::Contains("data_batch_3.bin"));
}

TEST_CASE("reader reports a file whose size is not a multiple of 3073 bytes", "[data][errors]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  auto bytes = make_records(2, 2);
  bytes.resize(bytes.size() + 5);  // 2 * 3073 + 5 = 6151 bytes
  write_bytes(bin / "data_batch_2.bin", bytes);
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Train),
                    Catch::Contains((bin / "data_batch_2.bin").string()) && Catch::Contains("6151 bytes") &&
                        Catch::Contains("3073"));
}

TEST_CASE("reader reports a label outside 0-9", "[data][errors]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  auto bytes = make_records(6, 4);
  bytes[2 * 3073] = 10;  // record 2's label
  write_bytes(bin / "test_batch.bin", bytes);
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Test),
                    Catch::Contains((bin / "test_batch.bin").string()) && Catch::Contains("record 2") &&
                        Catch::Contains("label 10"));
}

TEST_CASE("reader reports an empty file", "[data][errors]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  write_bytes(bin / "data_batch_1.bin", {});
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Train),
                    Catch::Contains((bin / "data_batch_1.bin").string()) && Catch::Contains("empty"));
}

TEST_CASE("reader accepts the folder or its parent", "[data]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  const Cifar10 a = load_cifar10(tmp.path.string(), Split::Train);
  const Cifar10 b = load_cifar10(bin.string(), Split::Train);
  CHECK(a.size() == 15);
  CHECK(a.folder == bin.string());  // resolved to the nested folder
  CHECK(a.labels == b.labels);
  CHECK(a.pixels == b.pixels);
}

TEST_CASE("limit keeps the first N images", "[data]") {
  TempDir tmp;
  make_cifar(tmp.path);
  const Cifar10 all = load_cifar10(tmp.path.string(), Split::Train);
  const Cifar10 four = load_cifar10(tmp.path.string(), Split::Train, 4);  // file 1's three + file 2's first
  REQUIRE(four.size() == 4);
  CHECK(std::vector<int64_t>(all.labels.begin(), all.labels.begin() + 4) == four.labels);
  CHECK(std::vector<uint8_t>(all.pixels.begin(), all.pixels.begin() + 4 * 3072) == four.pixels);
  CHECK(four.labels[3] == label_of(2, 0));
  CHECK(load_cifar10(tmp.path.string(), Split::Train, 0).size() == 0);
  CHECK(load_cifar10(tmp.path.string(), Split::Train, 100).size() == 15);
  CHECK(load_cifar10(tmp.path.string(), Split::Test, 2).size() == 2);
}

TEST_CASE("reader counts the records of every file and says when they are not the official 10,000",
          "[data]") {
  TempDir tmp;
  make_cifar(tmp.path);
  const Cifar10 train = load_cifar10(tmp.path.string(), Split::Train, 4);
  REQUIRE(train.file_records.size() == 5);  // counted even where the limit read nothing
  CHECK(train.file_records[0] == std::make_pair(std::string("data_batch_1.bin"), int64_t(3)));
  CHECK(train.file_records[4].second == 3);
  const Cifar10 test = load_cifar10(tmp.path.string(), Split::Test);
  CHECK(records_note(test) == "test_batch.bin holds 4 records (the official file: 10000)");
}

TEST_CASE("reader refuses a file larger than a CIFAR-10 batch before allocating", "[data][errors]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  // 101 GB, sparse: nothing is written to disk, and nothing may be allocated for it.
  fs::resize_file(bin / "test_batch.bin", uint64_t(101) << 30);
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Test),
                    Catch::Contains((bin / "test_batch.bin").string()) && Catch::Contains("at most 10000 records"));
  // 10,001 records: one too many.
  fs::resize_file(bin / "test_batch.bin", uint64_t(10001) * 3073);
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Test), Catch::Contains("(10001 records)"));
}

TEST_CASE("reader names a folder where a file belongs, and a file where the folder belongs", "[data][errors]") {
  TempDir tmp;
  const fs::path bin = make_cifar(tmp.path);
  fs::remove(bin / "data_batch_4.bin");
  fs::create_directories(bin / "data_batch_4.bin");
  CHECK_THROWS_WITH(load_cifar10(tmp.path.string(), Split::Train),
                    Catch::Contains((bin / "data_batch_4.bin").string()) && Catch::Contains("is a folder"));
  const fs::path file = tmp.path / "not_a_folder";
  write_bytes(file, {1, 2, 3});
  CHECK_THROWS_WITH(load_cifar10(file.string(), Split::Train),
                    Catch::Contains(file.string()) && Catch::Contains("is a file, not a folder"));
  // Unreadable (meaningless as root, who reads anything).
  if (geteuid() != 0) {
    TempDir tmp2;
    const fs::path bin2 = make_cifar(tmp2.path);
    fs::permissions(bin2 / "test_batch.bin", fs::perms::none);
    CHECK_THROWS_WITH(load_cifar10(tmp2.path.string(), Split::Test), Catch::Contains("Permission denied"));
  }
}

TEST_CASE("the fingerprint follows the images, not the folder", "[data]") {
  TempDir a, b;
  make_cifar(a.path);
  make_cifar(b.path);
  const Cifar10 x = load_cifar10(a.path.string(), Split::Train), y = load_cifar10(b.path.string(), Split::Train);
  CHECK(x.fingerprint.size() == 16);
  CHECK(x.fingerprint == y.fingerprint);
  auto bytes = make_records(3, 3);
  bytes[100] ^= 1;  // one pixel bit
  write_bytes(b.path / "cifar-10-batches-bin" / "data_batch_3.bin", bytes);
  CHECK(load_cifar10(b.path.string(), Split::Train).fingerprint != x.fingerprint);
  CHECK(load_cifar10(a.path.string(), Split::Train, 4).fingerprint != x.fingerprint);  // fewer images
}

// ---- DataLoader ----------------------------------------------------------------------------------

TEST_CASE("dataloader yields every sample exactly once per epoch", "[data]") {
  const Cifar10 data = synthetic(103);
  for (bool drop_last : {false, true}) {
    for (int workers : {0, 1, 3}) {
      INFO("drop_last " << drop_last << ", workers " << workers);
      DataLoader loader(data, DataLoaderOptions().batch_size(10).drop_last(drop_last).workers(workers).prefetch(2));
      CHECK(loader.num_batches() == (drop_last ? 10 : 11));
      const auto batches = run_epoch(loader, 0);
      REQUIRE(static_cast<int64_t>(batches.size()) == loader.num_batches());
      for (size_t b = 0; b < batches.size(); ++b) {
        const int64_t B = batches[b].size();
        CHECK(B == (b == 10 ? 3 : 10));
        CHECK(batches[b].images.shape() == Shape{B, 3, 32, 32});
        CHECK(batches[b].labels.shape() == Shape{B});
        CHECK(batches[b].labels.dtype() == DType::Int64);
        // Labels belong to the indices.
        const auto lab = batches[b].labels.to_vector<int64_t>();
        for (int64_t i = 0; i < B; ++i) CHECK(lab[i] == data.labels[batches[b].indices[i]]);
      }
      auto idx = all_indices(batches);
      std::sort(idx.begin(), idx.end());
      CHECK(std::adjacent_find(idx.begin(), idx.end()) == idx.end());  // no sample twice
      CHECK(idx.size() == (drop_last ? 100u : 103u));
      if (!drop_last) CHECK((idx.front() == 0 && idx.back() == 102));
      CHECK(loader.wait_seconds() >= 0.0);
    }
  }
  // The image matches its index: without augmentation, (v / 255 - mean) / std of that sample.
  DataLoader loader(data, DataLoaderOptions().batch_size(8).workers(2));
  const auto batches = run_epoch(loader, 3);
  const Batch& b = batches[4];
  const auto img = b.images.to_vector<float>();
  for (int k : {0, 1500, 3071}) {
    const int c = k / 1024;
    const double v = data.image(b.indices[5])[k];
    CHECK(img[5 * 3072 + k] == Approx((v / 255 - kCifar10Mean[c]) / kCifar10Std[c]).epsilon(1e-6));
  }
}

TEST_CASE("shuffle differs between epochs and repeats for the same seed", "[data]") {
  const Cifar10 data = synthetic(64);
  const auto opt = DataLoaderOptions().batch_size(16).seed(5).workers(2).augment(AugmentOptions());
  DataLoader a(data, opt), b(data, opt);
  const auto a0 = run_epoch(a, 0), a1 = run_epoch(a, 1);
  CHECK(all_indices(a0) != all_indices(a1));
  // A fresh loader (a resumed run) at epoch 1 sees the same order and the same augmented images.
  const auto b1 = run_epoch(b, 1);
  CHECK(all_indices(b1) == all_indices(a1));
  for (size_t i = 0; i < a1.size(); ++i) CHECK(values(a1[i].images) == values(b1[i].images));
  // ... whatever the number of workers.
  DataLoader c(data, DataLoaderOptions(opt).workers(0));
  const auto c1 = run_epoch(c, 1);
  CHECK(values(c1[3].images) == values(a1[3].images));
  // Another seed: another order. Without shuffle: the identity.
  DataLoader d(data, DataLoaderOptions(opt).seed(6));
  CHECK(all_indices(run_epoch(d, 1)) != all_indices(a1));
  DataLoader e(data, DataLoaderOptions(opt).shuffle(false));
  std::vector<int64_t> identity(64);
  for (int64_t i = 0; i < 64; ++i) identity[i] = i;
  CHECK(all_indices(run_epoch(e, 1)) == identity);
  CHECK(a.epoch_order(1) == all_indices(a1));
}

TEST_CASE("dataloader stops cleanly mid-epoch", "[data]") {
  const Cifar10 data = synthetic(200);
  Batch b;
  {
    // Destroyed after two batches, while workers are blocked on the full queue or mid-batch.
    DataLoader loader(data, DataLoaderOptions().batch_size(8).workers(3).prefetch(3).augment(AugmentOptions()));
    loader.start_epoch(0);
    REQUIRE(loader.next(b));
    REQUIRE(loader.next(b));
  }
  DataLoader loader(data, DataLoaderOptions().batch_size(8).workers(2));
  loader.start_epoch(0);
  REQUIRE(loader.next(b));
  // Restarting mid-epoch gives a whole new epoch.
  CHECK(all_indices(run_epoch(loader, 1)).size() == 200u);
  // stop() ends the epoch; next() then returns false.
  loader.start_epoch(2);
  REQUIRE(loader.next(b));
  loader.stop();
  CHECK_FALSE(loader.next(b));
  // Never started: a clear error.
  DataLoader fresh(data, DataLoaderOptions());
  CHECK_THROWS_WITH(fresh.next(b), Catch::Contains("start_epoch"));
}

TEST_CASE("dataloader rethrows worker exceptions", "[data][errors]") {
  const Cifar10 data = synthetic(40);
  for (int workers : {0, 2}) {
    // Two means for three channels: the augmentation op throws inside the worker.
    DataLoader loader(data, DataLoaderOptions().batch_size(8).workers(workers).augment(
                                AugmentOptions().normalize({0.5, 0.5}, {0.2, 0.2})));
    loader.start_epoch(0);
    Batch b;
    CHECK_THROWS_WITH(loader.next(b), Catch::Contains("mean and std"));
    CHECK_FALSE(loader.next(b));  // the epoch ended
  }
  CHECK_THROWS_WITH(DataLoader(data, DataLoaderOptions().batch_size(0)), Catch::Contains("batch_size"));
}

TEST_CASE("dataloader cuda batches match cpu", "[cuda][data]") {
  const Cifar10 data = synthetic(45);
  const auto opt = DataLoaderOptions().batch_size(16).seed(3).workers(2).augment(AugmentOptions());
  DataLoader cpu_loader(data, opt);
  DataLoader gpu_loader(data, DataLoaderOptions(opt).device(Device::cuda()));
  DataLoader upload_loader(data, DataLoaderOptions(opt).device(Device::cuda()).gpu_augment(false));
  const auto c = run_epoch(cpu_loader, 2), g = run_epoch(gpu_loader, 2), u = run_epoch(upload_loader, 2);
  REQUIRE(c.size() == g.size());
  for (size_t i = 0; i < c.size(); ++i) {
    REQUIRE(g[i].images.is_cuda());
    REQUIRE(g[i].labels.is_cuda());
    CHECK(g[i].indices == c[i].indices);
    CHECK_CLOSE(g[i].images.to(Device::cpu()), c[i].images, 0.0, 1e-6);
    CHECK_CLOSE(u[i].images.to(Device::cpu()), c[i].images, 0.0, 1e-6);
    CHECK(g[i].labels.to_vector<int64_t>() == c[i].labels.to_vector<int64_t>());
  }
}

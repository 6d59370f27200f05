// The training pictures (apps/train/plots.h): each function writes a real PNG of the expected
// size through a unique temporary file, and bad input or an unwritable folder throws an Error
// naming the path.
// The pictures stay in <build>/test_plots/ to be looked at.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "apps/train/plots.h"
#include "train_fixture.h"
#include "core/error.h"

using namespace minidl;
namespace fs = std::filesystem;
using minidl::testing::temp_files_in;

namespace {

std::string out_path(const std::string& name) {
  const fs::path dir = fs::path(MINIDL_BINARY_DIR) / "test_plots";
  fs::create_directories(dir);
  return (dir / name).string();
}

struct PngInfo {
  bool signature = false;
  size_t bytes = 0;
  uint32_t width = 0, height = 0;
};

// The 8-byte signature, then the IHDR chunk: length(4) "IHDR"(4) width(4, big endian) height(4).
PngInfo png_info(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  PngInfo info;
  info.bytes = b.size();
  if (b.size() < 24) return info;
  const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  info.signature = std::equal(sig, sig + 8, b.begin()) && std::equal(b.begin() + 12, b.begin() + 16, "IHDR");
  auto be32 = [&](size_t i) { return uint32_t(b[i]) << 24 | uint32_t(b[i + 1]) << 16 | uint32_t(b[i + 2]) << 8 | b[i + 3]; };
  info.width = be32(16), info.height = be32(20);
  return info;
}

// No temporary (NAME.<random>.tmp) of this picture is left. Only its own: ctest -j runs the other
// plot tests in the same folder at the same time, and theirs may legitimately exist for a moment.
void check_no_temp_for(const std::string& path) {
  const std::string own = fs::path(path).filename().string() + ".";
  for (const std::string& t : temp_files_in(fs::path(path).parent_path())) CHECK(t.rfind(own, 0) != 0);
}

// A valid PNG of the given size, with more than a blank page in it, and no temp file left behind.
void check_png(const std::string& path, uint32_t width, uint32_t height) {
  INFO(path);
  const PngInfo info = png_info(path);
  CHECK(info.signature);
  CHECK(info.width == width);
  CHECK(info.height == height);
  CHECK(info.bytes > 8000);      // a blank 800x600 page compresses to ~3 KB
  CHECK(info.bytes < 4000000);  // ... and an RGB 800x600 page with no compression is 1.4 MB
  check_no_temp_for(path);
}

const std::vector<std::string> kCifar = {"airplane", "automobile", "bird", "cat", "deer",
                                         "dog", "frog", "horse", "ship", "truck"};

}  // namespace

TEST_CASE("line_chart writes training curves", "[plots]") {
  plots::Series train{"train loss", {}, {}}, val{"validation loss", {}, {}};
  for (int e = 1; e <= 30; ++e) {
    train.x.push_back(e), train.y.push_back(2.3 * std::exp(-e / 8.0) + 0.1);
    val.x.push_back(e), val.y.push_back(2.2 * std::exp(-e / 9.0) + 0.3 + 0.02 * std::sin(e));
  }
  val.y[12] = NAN;  // a gap, not a crash
  const std::string png = out_path("loss.png");
  plots::line_chart(png, "Loss (ResNet-20, CIFAR-10)", "epoch", "cross-entropy", {train, val});
  check_png(png, 800, 600);

  // Rising curves: the legend moves to an empty corner.
  plots::Series acc{"train accuracy", train.x, {}}, vacc{"test accuracy", train.x, {}};
  for (double e : train.x) acc.y.push_back(100 - 60 * std::exp(-e / 6)), vacc.y.push_back(92 - 55 * std::exp(-e / 6));
  const std::string png2 = out_path("accuracy.png");
  plots::line_chart(png2, "Accuracy", "epoch", "accuracy (%)", {acc, vacc});
  check_png(png2, 800, 600);
}

TEST_CASE("line_chart draws an LR-finder curve on a log axis with a marker", "[plots]") {
  plots::Series s{"smoothed loss", {}, {}};
  for (int i = 0; i <= 100; ++i) {
    const double lr = 1e-6 * std::pow(10.0, 7.0 * i / 100);  // 1e-6 .. 10
    s.x.push_back(lr);
    s.y.push_back(2.3 - 1.2 / (1 + std::exp(-(std::log10(lr) + 3.5) * 2)) + (lr > 0.3 ? (lr - 0.3) * 4 : 0));
  }
  const std::string png = out_path("lr_find.png");
  plots::line_chart(png, "LR finder", "learning rate", "loss", {s}, true, 3.2e-3);
  check_png(png, 800, 600);
}

TEST_CASE("bar_chart writes per-class accuracy", "[plots]") {
  const std::vector<double> acc = {94.1, 96.8, 88.2, 79.5, 92.3, 85.0, 95.6, 94.9, 96.2, 95.4};
  const std::string png = out_path("per_class_accuracy.png");
  plots::bar_chart(png, "Per-class test accuracy", kCifar, acc, "accuracy (%)");
  check_png(png, 800, 600);
  // Short names are written straight; negative values hang below a zero line.
  const std::string png2 = out_path("bars_short.png");
  plots::bar_chart(png2, "Short names, a negative value", {"a", "b", "c"}, {3.5, -1.25, 2}, "value");
  check_png(png2, 800, 600);
}

TEST_CASE("confusion_matrix writes a heat map with counts", "[plots]") {
  std::vector<std::vector<int64_t>> counts(10, std::vector<int64_t>(10, 0));
  for (int t = 0; t < 10; ++t)
    for (int p = 0; p < 10; ++p) counts[t][p] = t == p ? 850 + 13 * t : (t * 7 + p * 3) % 11 + (t == 3 && p == 5 ? 90 : 0);
  const std::string png = out_path("confusion.png");
  plots::confusion_matrix(png, "Confusion matrix (test set)", kCifar, counts);
  check_png(png, 800, 760);
}

TEST_CASE("image_grid writes captioned tiles", "[plots]") {
  std::vector<plots::Tile> tiles;
  for (int i = 0; i < 20; ++i) {
    plots::Tile t;
    t.planar_rgb.resize(32 * 32 * 3);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        const int k = y * 32 + x;
        const bool disc = (x - 16) * (x - 16) + (y - 16) * (y - 16) < (4 + i % 9) * (4 + i % 9);
        t.planar_rgb[k] = uint8_t(disc ? 255 - 10 * i : x * 8);             // R
        t.planar_rgb[1024 + k] = uint8_t(disc ? 40 + 9 * i : y * 8);        // G
        t.planar_rgb[2048 + k] = uint8_t(disc ? 60 : (x + y) * 3 + 3 * i);  // B
      }
    t.caption = kCifar[i % 10] + " / " + kCifar[(i * 3 + 1) % 10];
    tiles.push_back(t);
  }
  const std::string png = out_path("misclassified.png");
  plots::image_grid(png, "Misclassified test images (true / predicted)", tiles, 5);
  const PngInfo info = png_info(png);
  CHECK(info.signature);
  CHECK(info.width >= 5 * 128);   // 32x32 tiles are shown at 4x
  CHECK(info.height >= 4 * 128);  // 20 tiles in 5 columns: 4 rows
  CHECK(info.bytes > 20000);
  CHECK_FALSE(fs::exists(png + ".tmp"));
}

TEST_CASE("plots replace an existing picture", "[plots]") {
  const std::string png = out_path("replaced.png");
  { std::ofstream(png) << "old contents"; }
  plots::bar_chart(png, "Replaced", {"x", "y"}, {1, 2}, "v");
  check_png(png, 800, 600);
}

TEST_CASE("plots handle small and crowded inputs", "[plots]") {
  // One point, a flat line and 12 series (colours repeat with a dashed style past 10).
  std::vector<plots::Series> many = {{"single point", {5}, {1}}, {"flat", {0, 10}, {2, 2}}};
  for (int k = 0; k < 10; ++k) many.push_back({"run " + std::to_string(k), {0, 5, 10}, {0.1 * k, 0.2 * k, 0.15 * k}});
  const std::string png = out_path("many_series.png");
  plots::line_chart(png, "12 series # and <markup> & co", "step", "value", many);
  check_png(png, 800, 600);

  // 20 classes: smaller digits and names; 3 tiles asked for 5 columns: one row of 3.
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> counts(20, std::vector<int64_t>(20, 1));
  for (int i = 0; i < 20; ++i) names.push_back("class" + std::to_string(i)), counts[i][i] = 80 + i;
  const std::string png2 = out_path("confusion20.png");
  plots::confusion_matrix(png2, "20 classes", names, counts);
  check_png(png2, 800, 760);
  std::vector<plots::Tile> tiles(3);
  for (auto& t : tiles) t.planar_rgb.assign(32 * 32 * 3, 128), t.caption = "cat / dog";
  const std::string png3 = out_path("grid3.png");
  plots::image_grid(png3, "A long title for a narrow grid of three tiles", tiles, 5);
  const PngInfo info = png_info(png3);
  CHECK(info.signature);
  CHECK(info.width < 800);  // 3 columns, not 5
  CHECK(info.height < 300);  // one row
}

TEST_CASE("plots can be drawn from two threads at once", "[plots]") {
  const plots::Series s{"loss", {1, 2, 3, 4}, {2, 1.5, 1.2, 1.1}};
  std::string error_a, error_b;  // an exception must not escape a thread (std::terminate)
  std::thread a([&] {
    try {
      plots::line_chart(out_path("thread_a.png"), "thread a", "x", "y", {s});
    } catch (const std::exception& e) {
      error_a = e.what();
    }
  });
  std::thread b([&] {
    try {
      plots::bar_chart(out_path("thread_b.png"), "thread b", {"p", "q"}, {1, 2}, "v");
    } catch (const std::exception& e) {
      error_b = e.what();
    }
  });
  a.join(), b.join();
  CHECK(error_a == "");
  CHECK(error_b == "");
  check_png(out_path("thread_a.png"), 800, 600);
  check_png(out_path("thread_b.png"), 800, 600);
}

TEST_CASE("plots errors name the path", "[plots][errors]") {
  const std::string png = out_path("never_written.png");
  fs::remove(png);
  const plots::Series good{"ok", {1, 2, 3}, {1, 2, 3}};
  CHECK_THROWS_WITH(plots::line_chart(png, "t", "x", "y", {}), Catch::Contains(png) && Catch::Contains("no series"));
  CHECK_THROWS_WITH(plots::line_chart(png, "t", "x", "y", {good, {"empty", {}, {}}}),
                    Catch::Contains(png) && Catch::Contains("'empty' is empty"));
  CHECK_THROWS_WITH(plots::line_chart(png, "t", "x", "y", {{"bad", {1, 2, 3}, {1, 2}}}),
                    Catch::Contains(png) && Catch::Contains("3 x values but 2 y values"));
  CHECK_THROWS_WITH(plots::line_chart(png, "t", "x", "y", {{"lr", {0.0, 1e-3}, {1, 2}}}, true),
                    Catch::Contains(png) && Catch::Contains("x > 0"));
  CHECK_THROWS_WITH(plots::line_chart(png, "t", "x", "y", {{"nan", {1, 2}, {NAN, NAN}}}),
                    Catch::Contains(png) && Catch::Contains("no finite y"));
  CHECK_THROWS_WITH(plots::bar_chart(png, "t", {"a", "b"}, {1}, "v"),
                    Catch::Contains(png) && Catch::Contains("2 categories but 1 values"));
  CHECK_THROWS_WITH(plots::confusion_matrix(png, "t", {"a", "b"}, {{1, 2}, {3}}),
                    Catch::Contains(png) && Catch::Contains("row 1 has 1 counts, expected 2"));
  plots::Tile bad;
  bad.planar_rgb.resize(32 * 32);  // one plane, not three
  CHECK_THROWS_WITH(plots::image_grid(png, "t", {bad}, 5),
                    Catch::Contains(png) && Catch::Contains("tile 0 is 32x32 but has 1024 bytes"));
  CHECK_THROWS_WITH(plots::image_grid(png, "t", {}, 5), Catch::Contains(png) && Catch::Contains("no tiles"));
  CHECK_FALSE(fs::exists(png));
  check_no_temp_for(png);

  // An unwritable folder: an Error naming the file, not PLplot's prompt-and-exit.
  const std::string missing = out_path("no_such_dir") + "/sub/loss.png";
  CHECK_THROWS_AS(plots::line_chart(missing, "t", "x", "y", {good}), Error);
  CHECK_THROWS_WITH(plots::line_chart(missing, "t", "x", "y", {good}),
                    Catch::Contains(missing) && Catch::Contains("No such file or directory"));
  CHECK_THROWS_WITH(plots::bar_chart(missing, "t", {"a"}, {1}, "v"), Catch::Contains(missing));
  // The target is a folder: the rename fails, the error names it and the reason, no temp file stays.
  const std::string folder = out_path("a_folder.png");
  fs::create_directories(folder);
  CHECK_THROWS_WITH(plots::bar_chart(folder, "t", {"a"}, {1}, "v"),
                    Catch::Contains("cannot write '" + folder + "'") && Catch::Contains("Is a directory"));
  check_no_temp_for(folder);
  // A figure after a failed one still works: no PLplot state leaked from the error.
  const std::string after = out_path("after_error.png");
  plots::line_chart(after, "After an error", "x", "y", {good});
  check_png(after, 800, 600);
}

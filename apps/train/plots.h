// The pictures train_cifar writes: training curves, LR-finder curves, per-class accuracy,
// the confusion matrix and a grid of misclassified images, as PNG files drawn with PLplot
// (pngcairo device).
//
// Each call draws one independent figure on its own PLplot stream and writes PNG.tmp first,
// then renames it to PNG, so a crash never leaves a half-written picture. Calls are serialized
// by a mutex inside (PLplot keeps a process-wide "current stream"), so they may come from any
// thread. Bad input or an unwritable folder throws minidl::Error naming the PNG path; nothing
// here exits or aborts.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace minidl::plots {

// One curve of a line chart: y[i] at x[i]. Non-finite y values (a diverged loss) leave a gap.
struct Series {
  std::string label;
  std::vector<double> x, y;
};

// Line chart (800x600) with a legend, axis labels and a grid. log_x: logarithmic x axis (LR
// finder; every x must be > 0). marker_x: when finite, a dashed vertical line there, labelled
// with its value (e.g. the suggested learning rate).
void line_chart(const std::string& png, const std::string& title, const std::string& xlabel,
                const std::string& ylabel, const std::vector<Series>& series, bool log_x = false,
                double marker_x = NAN);

// Bar chart (800x600) of one value per category (e.g. per-class accuracy in %), each value
// printed above its bar.
void bar_chart(const std::string& png, const std::string& title,
               const std::vector<std::string>& categories, const std::vector<double>& values,
               const std::string& ylabel);

// Confusion matrix heat map: counts[t][p] = how many samples of true class t were predicted
// as p (rows = true class, columns = predicted). Cells are shaded by their share of the row
// (so rare and common classes compare fairly) and show the count; class names on both axes.
void confusion_matrix(const std::string& png, const std::string& title,
                      const std::vector<std::string>& class_names,
                      const std::vector<std::vector<int64_t>>& counts);

// One small image of a grid: planar uint8 RGB (all R, then all G, then all B: the CIFAR
// layout, width*height*3 bytes) and a caption drawn under it, e.g. "cat / dog" (true / predicted).
struct Tile {
  std::vector<uint8_t> planar_rgb;
  int width = 32, height = 32;
  std::string caption;
};

// A grid of tiles, `columns` per row, each upscaled with sharp pixels (nearest neighbour).
void image_grid(const std::string& png, const std::string& title, const std::vector<Tile>& tiles,
                int columns);

}  // namespace minidl::plots

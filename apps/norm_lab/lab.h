// norm_lab's pieces: what main.cpp hands to each demonstration, the statistics helpers they
// share, and the figures they draw. docs/normalization.md explains what each one shows.
//
//   stats.cpp    per-channel / per-group statistics before and after each norm
//   gap.cpp      batch norm's train/eval gap against the batch size (group and layer norm: none)
//   grads.cpp    the gradient that reaches the first conv layer with each norm
//   figures.cpp  the pictures that are not line charts (apps/train/plots.h draws those)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace minidl::norm_lab {

// Everything a demonstration needs from main.
struct Lab {
  std::string out;         // folder the PNGs go to
  std::string model;       // zoo model of the gradient demonstration
  int64_t groups = 4;      // group norm's group count in the tables
  uint64_t seed = 0;       // conv initialization
  Tensor pool, held_out;   // relu(conv1(images)): the input of the first norm layer, [P, C, H, W] and [Q, C, H, W]
  Tensor images, labels;   // the held-out images themselves (normalized float32 [Q, 3, 32, 32]) and labels [Q]
};

void run_statistics(const Lab& lab);
void run_train_eval_gap(const Lab& lab);
void run_gradient_scale(const Lab& lab);

// ---- statistics of sets of values ----------------------------------------------------------------

// Which values of an [N, C, S] tensor share one (mean, std): the sets of batch norm (one per
// channel), of group norm with `groups` groups (one per (n, g); 1 = layer norm, C = instance norm).
struct Scope {
  std::string name;
  int64_t groups;  // 0: per channel over (N, S) (batch norm); else per (n, g) over (C/groups, S)
};

// Mean and (biased) standard deviation of every set of x [N, C, ...] (float32 on the CPU), in
// double. Batch-norm scope: sets indexed by c; group scope: by n * groups + g.
struct SetStats {
  std::vector<double> mean, std;
};
SetStats set_stats(const Tensor& x, const Scope& scope);

// ---- printing ------------------------------------------------------------------------------------

// A table printed with aligned columns: the first column left-aligned, the others right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string fmt(const char* format, double v);
void section(const std::string& title);  // prints a heading

// ---- figures (figures.cpp) -----------------------------------------------------------------------

// The N x C x (H*W) block four times, with the values that share one mean / invstd shaded for
// batch, layer, instance and group norm.
void draw_axes_figure(const std::string& png);

// Heat maps side by side: values[i] is panel i, rows x cols row-major (rows = samples, cols =
// channels), coloured blue (lo) - white (mid) - red (hi), clipped, with a colour bar.
struct Heatmap {
  std::string caption;
  std::vector<double> values;
};
void heatmaps(const std::string& png, const std::string& title, const std::vector<Heatmap>& panels, int64_t rows,
              int64_t cols, double lo, double mid, double hi, const std::string& xlabel, const std::string& ylabel);

}  // namespace minidl::norm_lab

// norm_lab's own pictures, drawn with PLplot on the pngcairo device: the N x C x (H*W) blocks
// with each norm's reduced region shaded, and rows of heat maps. (Line charts come from
// apps/train/plots.h.) Like plots.cpp, each figure is drawn into PNG.tmp and renamed when done.
#include <plstream.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "apps/norm_lab/lab.h"

namespace minidl::norm_lab {
namespace {

enum Color : PLINT { kWhite = 0, kBlack, kGrey, kScratch, kNumColors };

// A pngcairo page drawn into png + ".tmp"; save() renames it. PLplot's errors become minidl::Error.
class Page {
 public:
  Page(const std::string& png, int width, int height)
      : png_(png), tmp_(png + ".tmp"), font_fix_(1400.0 / (width + height)) {
    std::FILE* f = std::fopen(tmp_.c_str(), "wb");  // PLplot would prompt on stdin for another name
    MINIDL_CHECK(f != nullptr, "norm_lab: cannot write ", tmp_);
    std::fclose(f);
    pl_ = std::make_unique<plstream>();
    pl_->sError(&errcode_, errmsg_);
    pl_->sdev("pngcairo");
    pl_->sfnam(tmp_.c_str());
    pl_->spage(0, 0, width, height, 0, 0);
    const PLINT r[kNumColors] = {255, 0, 120, 0}, g[kNumColors] = {255, 0, 120, 0}, b[kNumColors] = {255, 0, 120, 0};
    pl_->scmap0(r, g, b, kNumColors);
    pl_->init();
    pl_->adv(0);
    pl_->vpor(0, 1, 0, 1);
    pl_->wind(0, width, 0, height);  // world = pixels, y up
    font(1.0);
    pl_->width(0.01);  // cairo strokes each filled polygon's outline too
  }
  ~Page() {
    if (!pl_) return;
    pl_.reset();
    std::remove(tmp_.c_str());
  }
  plstream& pl() { return *pl_; }
  // PLplot scales its default font with the page: undo that, so text is as large as on 800x600.
  void font(double scale) { pl_->schr(0, scale * font_fix_); }
  void rgb(int r, int g, int b) { pl_->scol0(kScratch, r, g, b), pl_->col0(kScratch); }
  void save() {
    pl_.reset();
    MINIDL_CHECK(errcode_ == 0, "norm_lab: PLplot failed on ", png_, ": ", errmsg_);
    MINIDL_CHECK(std::rename(tmp_.c_str(), png_.c_str()) == 0, "norm_lab: cannot rename ", tmp_, " to ", png_);
  }

 private:
  std::string png_, tmp_;
  double font_fix_;
  PLINT errcode_ = 0;
  char errmsg_[1024] = {};
  std::unique_ptr<plstream> pl_;
};

void polygon(plstream& pl, std::vector<PLFLT> xs, std::vector<PLFLT> ys, bool fill) {
  if (fill) return pl.fill(PLINT(xs.size()), xs.data(), ys.data());
  xs.push_back(xs[0]), ys.push_back(ys[0]);
  pl.width(1.0);
  pl.line(PLINT(xs.size()), xs.data(), ys.data());
  pl.width(0.01);  // back to fills
}

// One block: C channels left to right, N samples top to bottom, H*W going into the page.
// A "set" is a rectangle [c0, c1) x [n0, n1) of the front face that runs through all of H*W.
struct SetRect {
  int c0, c1, n0, n1;
};

void draw_block(Page& page, double x0, double y0, const std::string& title, const std::string& note,
                const std::vector<SetRect>& sets, size_t highlighted) {
  plstream& pl = page.pl();
  constexpr int C = 8, N = 4;
  constexpr double u = 34, depth = 4.2 * u, dx = 0.62, dy = 0.45;  // cell size, H*W length, oblique direction
  const double fx = x0, fy = y0 + N * u;  // top-left corner of the front face
  auto front = [&](double c, double n, double d, PLFLT& X, PLFLT& Y) {
    X = fx + c * u + d * dx, Y = fy - n * u + d * dy;
  };
  for (size_t k = 0; k < sets.size(); ++k) {
    const SetRect& s = sets[k];
    const bool hi = k == highlighted;
    // Sets alternate between two light greys (a checkerboard over the front face) so the
    // partition shows; the highlighted one is blue, each face a different shade so the block
    // reads as 3-D.
    const int grey = ((s.n0 + s.c0 / (s.c1 - s.c0)) % 2 == 0) ? 236 : 212;
    PLFLT X[4], Y[4];
    front(s.c0, s.n0, 0, X[0], Y[0]), front(s.c1, s.n0, 0, X[1], Y[1]);
    front(s.c1, s.n1, 0, X[2], Y[2]), front(s.c0, s.n1, 0, X[3], Y[3]);
    hi ? page.rgb(31, 119, 180) : page.rgb(grey, grey, grey);
    polygon(pl, {X, X + 4}, {Y, Y + 4}, true);
    pl.col0(kBlack), polygon(pl, {X, X + 4}, {Y, Y + 4}, false);
    if (s.n0 == 0) {  // top face
      front(s.c0, 0, 0, X[0], Y[0]), front(s.c1, 0, 0, X[1], Y[1]);
      front(s.c1, 0, depth, X[2], Y[2]), front(s.c0, 0, depth, X[3], Y[3]);
      hi ? page.rgb(110, 170, 215) : page.rgb(grey + 12, grey + 12, grey + 12);
      polygon(pl, {X, X + 4}, {Y, Y + 4}, true);
      pl.col0(kBlack), polygon(pl, {X, X + 4}, {Y, Y + 4}, false);
    }
    if (s.c1 == C) {  // right face
      front(C, s.n0, 0, X[0], Y[0]), front(C, s.n0, depth, X[1], Y[1]);
      front(C, s.n1, depth, X[2], Y[2]), front(C, s.n1, 0, X[3], Y[3]);
      hi ? page.rgb(20, 80, 125) : page.rgb(grey - 30, grey - 30, grey - 30);
      polygon(pl, {X, X + 4}, {Y, Y + 4}, true);
      pl.col0(kBlack), polygon(pl, {X, X + 4}, {Y, Y + 4}, false);
    }
  }
  pl.col0(kBlack);
  PLFLT X, Y, X2, Y2;
  front(0, N / 2.0, 0, X, Y);
  pl.ptex(X - 10, Y, 1, 0, 1.0, "N");
  front(C / 2.0, N, 0, X, Y);
  pl.ptex(X, Y - 20, 1, 0, 0.5, "C");
  front(C, N, depth / 2, X, Y);
  front(C, N, depth / 2 + 1, X2, Y2);
  pl.ptex(X + 14, Y - 6, X2 - X, Y2 - Y, 0, "H·W");
  front(C / 2.0 + 0.8, 0, depth, X, Y);
  page.font(1.0);
  pl.ptex(x0 + (C * u + depth * dx) / 2, Y + 34, 1, 0, 0.5, title.c_str());
  page.font(0.8);
  pl.ptex(x0 + (C * u + depth * dx) / 2, Y + 14, 1, 0, 0.5, note.c_str());
  page.font(0.9);
}

}  // namespace

void draw_axes_figure(const std::string& png) {
  constexpr int C = 8, N = 4, G = 4, D = C / G;
  std::vector<SetRect> bn, ln, in, gn;
  for (int c = 0; c < C; ++c) bn.push_back({c, c + 1, 0, N});
  for (int n = 0; n < N; ++n) ln.push_back({0, C, n, n + 1});
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) in.push_back({c, c + 1, n, n + 1});
  for (int n = 0; n < N; ++n)
    for (int g = 0; g < G; ++g) gn.push_back({g * D, (g + 1) * D, n, n + 1});
  Page page(png, 1000, 720);
  page.font(0.9);
  page.pl().col0(kBlack);
  page.pl().ptex(500, 700, 1, 0, 0.5, "Which values share one mean and invstd (blue: one such set; grey: the others)");
  draw_block(page, 60, 400, "batch norm: per channel, over (N, H·W)", "C sets of N·H·W values; stats [C]", bn, 2);
  draw_block(page, 560, 400, "layer norm = group norm, G = 1: per sample", "N sets of C·H·W values; stats [N]", ln, 1);
  draw_block(page, 60, 50, "instance norm = group norm, G = C: per (n, c)", "N·C sets of H·W values; stats [N, C]",
             in, 1 * C + 7);
  draw_block(page, 560, 50, "group norm, G = 4: per (n, group of C/G channels)",
             "N·G sets of (C/G)·H·W values; stats [N, G]", gn, 2);
  page.save();
}

void heatmaps(const std::string& png, const std::string& title, const std::vector<Heatmap>& panels, int64_t rows,
              int64_t cols, double lo, double mid, double hi, const std::string& xlabel, const std::string& ylabel) {
  MINIDL_CHECK(!panels.empty() && rows > 0 && cols > 0 && lo < mid && mid < hi, "norm_lab: bad heat map request for ",
               png);
  for (const Heatmap& p : panels)
    MINIDL_CHECK(int64_t(p.values.size()) == rows * cols, "norm_lab: panel '", p.caption, "' has ", p.values.size(),
                 " values, expected ", rows * cols);
  const int k = int(panels.size());
  const double cell = std::clamp(std::min(220.0 / cols, 300.0 / rows), 2.0, 20.0);
  const double pw = cols * cell, ph = rows * cell, gap = 36, left = 60, bar = 70;
  const int width = int(left + k * pw + (k - 1) * gap + bar + 40), height = int(ph + 140);
  Page page(png, width, height);
  plstream& pl = page.pl();
  // Blue (lo) - white (mid) - red (hi), piecewise linear in the value.
  auto colour = [&](double v) {
    v = std::clamp(v, lo, hi);
    const double t = v < mid ? (v - mid) / (mid - lo) : (v - mid) / (hi - mid);  // -1 .. 1
    const double a = std::fabs(t);
    if (t < 0) return page.rgb(int(255 - a * (255 - 33)), int(255 - a * (255 - 102)), int(255 - a * (255 - 172)));
    page.rgb(int(255 - a * (255 - 178)), int(255 - a * (255 - 24)), int(255 - a * (255 - 43)));
  };
  const double top = height - 70;
  pl.col0(kBlack), page.font(1.1);
  pl.ptex(width / 2.0, height - 22, 1, 0, 0.5, title.c_str());
  for (int p = 0; p < k; ++p) {
    const double x0 = left + p * (pw + gap);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        colour(panels[p].values[r * cols + c]);
        const PLFLT X0 = x0 + c * cell, X1 = X0 + cell + 0.5, Y1 = top - r * cell, Y0 = Y1 - cell - 0.5;
        polygon(pl, {X0, X1, X1, X0}, {Y0, Y0, Y1, Y1}, true);
      }
    pl.col0(kBlack);
    polygon(pl, {x0, x0 + pw, x0 + pw, x0}, {top - ph, top - ph, top, top}, false);
    page.font(0.9);
    pl.ptex(x0 + pw / 2, top + 14, 1, 0, 0.5, panels[p].caption.c_str());
    page.font(0.8);
    pl.ptex(x0 + pw / 2, top - ph - 18, 1, 0, 0.5, xlabel.c_str());
  }
  page.font(0.8);
  pl.ptex(left - 16, top - ph / 2, 0, 1, 0.5, ylabel.c_str());
  // The colour bar: 60 steps from lo to hi, labelled at both ends and in the middle.
  const double bx = width - bar - 10, bw = 18;
  for (int i = 0; i < 60; ++i) {
    colour(lo + (hi - lo) * (i + 0.5) / 60);
    const PLFLT Y0 = top - ph + ph * i / 60.0, Y1 = Y0 + ph / 60.0 + 0.5;
    polygon(pl, {bx, bx + bw, bx + bw, bx}, {Y0, Y0, Y1, Y1}, true);
  }
  pl.col0(kBlack);
  polygon(pl, {bx, bx + bw, bx + bw, bx}, {top - ph, top - ph, top, top}, false);
  const double marks[3] = {lo, mid, hi};
  for (double v : marks)
    pl.ptex(bx + bw + 6, top - ph + ph * (v - lo) / (hi - lo), 1, 0, 0, fmt("%g", v).c_str());
  page.save();
}

}  // namespace minidl::norm_lab

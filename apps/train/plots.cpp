// The figures of plots.h, drawn with PLplot's C++ stream class on the pngcairo device.
//
// Figure (below) owns what every picture shares: one private plstream, the colour map, the
// font size, the PNG.tmp -> PNG rename and turning PLplot's problems into minidl::Error.
// PLplot calls exit() on some errors (after failing to open its output file 11 times, each
// time prompting on stdin for another name), so those conditions are checked here first.
// Layout is done in page pixels. On an 800x600 pngcairo page PLplot's default character height
// is 4.94 mm = 14 pt; measured, its glyphs average about 10 px wide.
#include "apps/train/plots.h"

#include <plstream.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/atomic_file.h"
#include "core/error.h"

namespace minidl::plots {
namespace {

// cmap0 of every figure: entry 0 is the page background; kScratch is set per image pixel; the
// series colours (Tableau 10) are distinct and none is faint on white, unlike PLplot's default
// cmap0 (red first, yellow later).
enum Color : PLINT { kWhite = 0, kBlack, kGrid, kDark, kScratch, kSeries, kNumColors = kSeries + 10 };
constexpr PLINT kPalette[kNumColors][3] = {
    {255, 255, 255}, {0, 0, 0},       {222, 222, 222}, {90, 90, 90},    {0, 0, 0},       {31, 119, 180},
    {255, 127, 14},  {44, 160, 44},   {214, 39, 40},   {148, 103, 189}, {140, 86, 75},   {227, 119, 194},
    {127, 127, 127}, {188, 189, 34},  {23, 190, 207}};
// Text scales relative to PLplot's default size, which is small on an 800x600 picture.
constexpr double kTickScale = 1.15, kLabelScale = 1.25, kTitleScale = 1.45;
constexpr double kCharW = 10, kCharH = 14;  // px at scale 1 (see the top of the file)

// PLplot keeps a process-wide current stream, so two figures must not be drawn at once.
std::mutex plplot_mutex;

bool has_pngcairo(plstream& pl) {
  const char *menus[128], *names[128], **pm = menus, **pn = names;
  int n = 128;
  pl.gFileDevs(&pm, &pn, &n);
  return std::any_of(names, names + n, [](const char* d) { return d && std::strcmp(d, "pngcairo") == 0; });
}

// '#' starts a PLplot text escape (#u superscript, ...): "##" is a literal '#'. Long strings
// are cut (at a UTF-8 character boundary) because the cairo driver prints and skips them.
std::string esc(const std::string& s) {
  size_t n = std::min<size_t>(s.size(), 200);
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s[i] == '#' ? std::string("##") : std::string(1, s[i]);
  return out;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// One picture: a private PLplot stream drawing into a unique temporary file next to PNG
// (core/atomic_file.h); save() checks that a whole PNG arrived, then commits it over PNG.
class Figure {
 public:
  // at: the start of every error message, e.g. "plots::line_chart(out/loss.png): ".
  Figure(const std::string& at, const std::string& png, int width, int height)
      : lock_(plplot_mutex), at_(at), png_(png), font_fix_(1400.0 / (width + height)) {
    pls_ = std::make_unique<plstream>();
    // Without the device PLplot would ask on stdin for another one.
    MINIDL_CHECK(has_pngcairo(*pls_), at_, "PLplot's pngcairo device is missing (install plplot-driver-cairo)");
    try {
      file_ = std::make_unique<AtomicFile>(png_);
    } catch (const Error& e) {
      MINIDL_FAIL(at_, e.what());
    }
    file_->release_for_external_writer();  // PLplot opens the file by name
    tmp_ = file_->temp_path();
    pls_->sError(&errcode_, errmsg_);  // "aborting operation" messages land here, not on stderr
    pls_->sdev("pngcairo");
    pls_->sfnam(tmp_.c_str());
    pls_->spage(0, 0, width, height, 0, 0);
    PLINT r[kNumColors], g[kNumColors], b[kNumColors];
    for (int i = 0; i < kNumColors; ++i) r[i] = kPalette[i][0], g[i] = kPalette[i][1], b[i] = kPalette[i][2];
    pls_->scmap0(r, g, b, kNumColors);
    pls_->init();
    pls_->adv(0);
    font(kTickScale);
    pls_->col0(kBlack);
  }
  ~Figure() {
    pls_.reset();  // an exception interrupted the drawing: file_ drops the unfinished picture
  }
  plstream& pl() { return *pls_; }
  // PLplot sizes its default font by the page ((width + height) / 2 / 200 mm * 4 mm): undo
  // that, so text is as large on every page as on an 800x600 one.
  void font(double scale) { pls_->schr(0, scale * font_fix_); }

  // Text anywhere on the page at normalized device coordinates (0..1 both ways), unclipped:
  // labels outside the plot box. Leaves the page viewport set, so call it after the plot.
  void page_text(double x, double y, double angle_deg, double just, double scale, const std::string& text) {
    if (text.empty()) return;
    pls_->vpor(0, 1, 0, 1);
    pls_->wind(0, 1, 0, 1);
    pls_->col0(kBlack);
    font(scale);
    const double a = angle_deg * 3.14159265358979 / 180;
    pls_->ptex(x, y, std::cos(a), std::sin(a), just, esc(text).c_str());
  }

  void save() {
    pls_.reset();  // plend1: the driver writes the PNG and closes the file
    MINIDL_CHECK(errcode_ == 0, at_, "PLplot failed: ", errmsg_);
    // A full disk shows up as a missing or cut PNG, never as an error from PLplot: check that
    // the file starts with the PNG signature and ends with the IEND chunk.
    unsigned char sig[8] = {}, tail[12] = {};
    std::FILE* f = std::fopen(tmp_.c_str(), "rb");
    bool ok = f && std::fread(sig, 1, 8, f) == 8 && std::memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0;
    ok = ok && std::fseek(f, -12, SEEK_END) == 0 && std::fread(tail, 1, 12, f) == 12 &&
         std::memcmp(tail, "\0\0\0\0IEND\xae\x42\x60\x82", 12) == 0;
    if (f) std::fclose(f);
    MINIDL_CHECK(ok, at_, "PLplot did not write a whole PNG (disk full?); ", png_, " is left as it was");
    try {
      file_->commit();
    } catch (const Error& e) {
      MINIDL_FAIL(at_, e.what());
    }
  }

 private:
  std::lock_guard<std::mutex> lock_;
  std::string at_, png_, tmp_;
  std::unique_ptr<AtomicFile> file_;
  double font_fix_;
  PLINT errcode_ = 0;
  char errmsg_[1024] = {};
  std::unique_ptr<plstream> pls_;
};

// The plot box of a chart in normalized page coordinates, and the chart's labels around it.
struct Box { double x0, x1, y0, y1; };

void chart_labels(Figure& fig, const Box& box, const std::string& title, const std::string& xlabel,
                  const std::string& ylabel, double xlabel_y) {
  fig.page_text((box.x0 + box.x1) / 2, box.y1 + 0.045, 0, 0.5, kTitleScale, title);
  fig.page_text((box.x0 + box.x1) / 2, xlabel_y, 0, 0.5, kLabelScale, xlabel);
  fig.page_text(0.025, (box.y0 + box.y1) / 2, 90, 0.5, kLabelScale, ylabel);
}

// The legend goes into the corner of the plot box where the fewest points lie (loss curves
// fall, accuracy curves rise: a fixed corner would cover one of them).
PLINT emptiest_corner(const std::vector<std::pair<double, double>>& unit_points) {
  const PLINT corners[4] = {PL_POSITION_TOP | PL_POSITION_RIGHT, PL_POSITION_TOP | PL_POSITION_LEFT,
                            PL_POSITION_BOTTOM | PL_POSITION_RIGHT, PL_POSITION_BOTTOM | PL_POSITION_LEFT};
  size_t count[4] = {0, 0, 0, 0};
  for (const auto& [x, y] : unit_points) {
    const bool right = x > 0.55, left = x < 0.45, top = y > 0.6, bottom = y < 0.4;
    count[0] += top && right, count[1] += top && left, count[2] += bottom && right, count[3] += bottom && left;
  }
  return corners[std::min_element(count, count + 4) - count];
}

}  // namespace

void line_chart(const std::string& png, const std::string& title, const std::string& xlabel,
                const std::string& ylabel, const std::vector<Series>& series, bool log_x,
                double marker_x) {
  const std::string at = str("plots::line_chart(", png, "): ");
  MINIDL_CHECK(!series.empty(), at, "no series to draw");
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series) {
    MINIDL_CHECK(!s.x.empty(), at, "series '", s.label, "' is empty");
    MINIDL_CHECK(s.x.size() == s.y.size(), at, "series '", s.label, "' has ", s.x.size(), " x values but ",
                 s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      MINIDL_CHECK(std::isfinite(s.x[i]) && (!log_x || s.x[i] > 0), at, "series '", s.label,
                   "' has x[", i, "] = ", s.x[i], (log_x ? " (a log axis needs x > 0)" : ""));
      const double x = log_x ? std::log10(s.x[i]) : s.x[i];
      x0 = std::min(x0, x), x1 = std::max(x1, x);
      if (std::isfinite(s.y[i])) y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  }
  MINIDL_CHECK(y0 <= y1, at, "no finite y value in any series");
  const bool marker = std::isfinite(marker_x);
  MINIDL_CHECK(!marker || !log_x || marker_x > 0, at, "marker_x = ", marker_x, " on a log axis (needs > 0)");
  const double mx = marker && log_x ? std::log10(marker_x) : marker_x;
  if (marker) x0 = std::min(x0, mx), x1 = std::max(x1, mx);
  // A single point or a flat line still needs a non-empty window; 5% air above and below.
  if (x1 - x0 < 1e-12) x0 -= 0.5, x1 += 0.5;
  if (y1 - y0 < 1e-12) y0 -= 0.5, y1 += 0.5;
  const double ypad = 0.05 * (y1 - y0);
  y0 -= ypad, y1 += ypad;

  Figure fig(at, png, 800, 600);
  plstream& pl = fig.pl();
  const Box box{0.13, 0.96, 0.13, 0.9};
  pl.vpor(box.x0, box.x1, box.y0, box.y1);
  pl.wind(x0, x1, y0, y1);
  const std::string xopt = log_x ? "l" : "";
  pl.col0(kGrid);  // grid first, so the curves lie on top of it
  pl.box(("g" + xopt).c_str(), 0, 0, "g", 0, 0);
  std::vector<std::pair<double, double>> unit_points;  // every point in 0..1 box units, for the legend
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    pl.col0(kSeries + PLINT(k % 10));
    pl.lsty(PLINT(1 + (k / 10) % 8));  // past 10 series the colours repeat with another dash pattern
    pl.width(2.0);
    // Draw runs of finite points: a NaN/inf y breaks the line instead of dragging it off the chart.
    std::vector<PLFLT> xs, ys;
    for (size_t i = 0; i <= s.x.size(); ++i) {
      if (i < s.x.size() && std::isfinite(s.y[i])) {
        xs.push_back(log_x ? std::log10(s.x[i]) : s.x[i]);
        ys.push_back(s.y[i]);
        unit_points.emplace_back((xs.back() - x0) / (x1 - x0), (ys.back() - y0) / (y1 - y0));
        continue;
      }
      if (xs.size() == 1) pl.poin(1, xs.data(), ys.data(), 17);  // an isolated point: a dot
      if (xs.size() > 1) pl.line(PLINT(xs.size()), xs.data(), ys.data());
      xs.clear(), ys.clear();
    }
  }
  pl.lsty(1);
  if (marker) {
    const PLFLT lx[2] = {mx, mx}, ly[2] = {y0, y1};
    pl.col0(kDark), pl.width(1.5), pl.lsty(2);
    pl.line(2, lx, ly);
    pl.lsty(1);
    // The label runs up along the line, in whichever half (top or bottom) the curves leave free.
    const double umx = (mx - x0) / (x1 - x0);
    int near_top = 0, near_bottom = 0;
    for (const auto& [ux, uy] : unit_points)
      if (std::fabs(ux - umx) < 0.08) (uy > 0.5 ? near_top : near_bottom)++;
    const bool top = near_top < near_bottom;
    const std::string label = esc((xlabel.empty() ? std::string("x") : xlabel) + " = " + fmt("%.3g", marker_x));
    fig.font(1.0);
    const double ly0 = top ? y1 - 0.03 * (y1 - y0) : y0 + 0.03 * (y1 - y0);
    pl.ptex(mx + 0.02 * (x1 - x0), ly0, 0, 1, top ? 1.0 : 0.0, label.c_str());
    for (double t = 0.05; t < 0.5; t += 0.05) unit_points.emplace_back(umx, top ? 1 - t : t);
  }
  pl.col0(kBlack), pl.width(1), fig.font(kTickScale);
  pl.box(("bcnst" + xopt).c_str(), 0, 0, "bcnstv", 0, 0);

  const PLINT n = PLINT(series.size());
  std::vector<PLINT> opts(n, PL_LEGEND_LINE), text_colors(n, kBlack), line_colors(n), line_styles(n);
  std::vector<PLFLT> line_widths(n, 2.0);
  std::vector<std::string> texts(n);
  std::vector<const char*> text_ptrs(n);
  for (PLINT k = 0; k < n; ++k) {
    line_colors[k] = kSeries + k % 10, line_styles[k] = 1 + (k / 10) % 8;
    texts[k] = esc(series[k].label), text_ptrs[k] = texts[k].c_str();
  }
  PLFLT legend_w = 0, legend_h = 0;
  const PLINT columns = n > 6 ? 2 : 1;  // a long legend would cover half the chart
  fig.font(1.05);
  pl.legend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
            PL_POSITION_INSIDE | emptiest_corner(unit_points), 0.02, 0.03, 0.08, kWhite, kGrid, 1,
            (n + columns - 1) / columns, columns, n, opts.data(), 1.0, 1.0, 2.0, 0.0, text_colors.data(),
            text_ptrs.data(), nullptr, nullptr, nullptr, nullptr, line_colors.data(), line_styles.data(),
            line_widths.data(), nullptr, nullptr, nullptr, nullptr);
  chart_labels(fig, box, title, xlabel, ylabel, 0.035);
  fig.save();
}

void bar_chart(const std::string& png, const std::string& title, const std::vector<std::string>& categories,
               const std::vector<double>& values, const std::string& ylabel) {
  const std::string at = str("plots::bar_chart(", png, "): ");
  MINIDL_CHECK(!categories.empty(), at, "no categories");
  MINIDL_CHECK(categories.size() == values.size(), at, categories.size(), " categories but ", values.size(), " values");
  for (size_t i = 0; i < values.size(); ++i)
    MINIDL_CHECK(std::isfinite(values[i]), at, "value ", i, " ('", categories[i], "') is ", values[i]);
  const Box box{0.13, 0.96, 0.2, 0.9};
  // Bars grow from 0, with room left above them (below, for negative bars) for the printed
  // values. ptex centres text on its point, roughly: baseline 0.5 em below, digit tops 0.5 em above.
  const double em = kCharH * kTickScale, above_px = 0.5 * em + 6, below_px = 0.6 * em + 5;
  const double vmin = *std::min_element(values.begin(), values.end());
  const double vmax = *std::max_element(values.begin(), values.end());
  double y0 = std::min(0.0, vmin), y1 = std::max(0.0, vmax);
  if (y1 - y0 < 1e-12) y1 = y0 + 1;
  const double px = (y1 - y0) / ((box.y1 - box.y0) * 600 - 2 * (1.1 * em + 10));  // data units per pixel
  if (vmax > 0) y1 += (above_px + 0.6 * em + 6) * px;
  if (vmin < 0) y0 -= (below_px + 0.5 * em + 6) * px;

  Figure fig(at, png, 800, 600);
  plstream& pl = fig.pl();
  const int n = int(categories.size());
  pl.vpor(box.x0, box.x1, box.y0, box.y1);
  pl.wind(0, n, y0, y1);
  pl.col0(kGrid);
  pl.box("", 0, 0, "g", 0, 0);  // horizontal grid lines only: vertical ones would cut the bars
  for (int i = 0; i < n; ++i) {
    const PLFLT bx[4] = {i + 0.15, i + 0.85, i + 0.85, i + 0.15}, by[4] = {0, 0, values[i], values[i]};
    pl.col0(kSeries), pl.fill(4, bx, by), pl.col0(kBlack);
    const std::string v = esc(std::fabs(values[i]) >= 1000 ? fmt("%.0f", values[i]) : fmt("%.3g", values[i]));
    pl.ptex(i + 0.5, values[i] >= 0 ? values[i] + above_px * px : values[i] - below_px * px, 1, 0, 0.5,
            v.c_str());
  }
  if (y0 < 0) {
    const PLFLT zx[2] = {0, PLFLT(n)}, zy[2] = {0, 0};
    pl.line(2, zx, zy);
  }
  pl.box("bc", 0, 0, "bcnstv", 0, 0);
  // Category names under the bars: straight when they fit their slot, else slanted.
  size_t longest = 0;
  for (const auto& c : categories) longest = std::max(longest, c.size());
  const bool slant = longest * kCharW * kTickScale > 0.9 * (box.x1 - box.x0) * 800 / n;
  for (int i = 0; i < n; ++i) {
    const double x = box.x0 + (box.x1 - box.x0) * (i + 0.5) / n;
    fig.page_text(slant ? x + 0.01 : x, box.y0 - (slant ? 0.03 : 0.035), slant ? 30 : 0, slant ? 1.0 : 0.5,
                  kTickScale, categories[i]);
  }
  chart_labels(fig, box, title, "", ylabel, 0);
  fig.save();
}

void confusion_matrix(const std::string& png, const std::string& title,
                      const std::vector<std::string>& class_names,
                      const std::vector<std::vector<int64_t>>& counts) {
  const std::string at = str("plots::confusion_matrix(", png, "): ");
  const size_t n = class_names.size();
  MINIDL_CHECK(n > 0, at, "no classes");
  MINIDL_CHECK(counts.size() == n, at, n, " class names but ", counts.size(), " rows");
  for (size_t t = 0; t < n; ++t) {
    MINIDL_CHECK(counts[t].size() == n, at, "row ", t, " has ", counts[t].size(), " counts, expected ", n);
    for (size_t p = 0; p < n; ++p)
      MINIDL_CHECK(counts[t][p] >= 0, at, "counts[", t, "][", p, "] = ", counts[t][p]);
  }

  Figure fig(at, png, 800, 760);
  plstream& pl = fig.pl();
  // cmap1: white -> blue -> navy over the share of the true class (0..1).
  const PLFLT pos[3] = {0, 0.5, 1}, r[3] = {1, 0.42, 0.03}, g[3] = {1, 0.68, 0.19}, b[3] = {1, 0.84, 0.42};
  pl.scmap1l(true, 3, pos, r, g, b, static_cast<const bool*>(nullptr));
  const Box box{0.2, 0.95, 0.2, 0.91};  // square cells: 0.75 * 800 px ~ 0.71 * 760 px
  pl.vpor(box.x0, box.x1, box.y0, box.y1);
  pl.wind(0, double(n), 0, double(n));
  // Counts are readable up to ~20 classes; past 30 the names would overlap too.
  const double count_scale = n <= 10 ? 1.2 : n <= 20 ? 0.8 : 0;
  fig.font(count_scale);
  for (size_t t = 0; t < n; ++t) {
    int64_t row_total = 0;
    for (int64_t c : counts[t]) row_total += c;
    for (size_t p = 0; p < n; ++p) {
      const double share = row_total > 0 ? double(counts[t][p]) / double(row_total) : 0.0;
      const double cy = double(n - 1 - t);  // row 0 (the first true class) at the top
      const PLFLT xs[4] = {PLFLT(p), PLFLT(p + 1), PLFLT(p + 1), PLFLT(p)}, ys[4] = {cy, cy, cy + 1, cy + 1};
      pl.col1(share), pl.fill(4, xs, ys);
      if (count_scale > 0) {
        pl.col0(share > 0.5 ? kWhite : kBlack);  // dark cells get white digits
        pl.ptex(p + 0.5, cy + 0.5, 1, 0, 0.5, std::to_string(counts[t][p]).c_str());
      }
    }
  }
  pl.col0(kBlack);
  pl.box("bc", 0, 0, "bc", 0, 0);
  if (n <= 30) {
    const double name_scale = n <= 10 ? 1.15 : 0.8;
    for (size_t i = 0; i < n; ++i) {
      const double x = box.x0 + (box.x1 - box.x0) * (i + 0.5) / n;
      const double y = box.y1 - (box.y1 - box.y0) * (i + 0.5) / n;
      fig.page_text(box.x0 - 0.012, y, 0, 1.0, name_scale, class_names[i]);  // true class of row i
      fig.page_text(x + 0.01, box.y0 - 0.02, 40, 1.0, name_scale, class_names[i]);  // slanted: long names fit
    }
  }
  fig.page_text((box.x0 + box.x1) / 2, box.y1 + 0.04, 0, 0.5, kTitleScale, title);
  fig.page_text((box.x0 + box.x1) / 2, 0.04, 0, 0.5, kLabelScale, "predicted class");
  fig.page_text(0.03, (box.y0 + box.y1) / 2, 90, 0.5, kLabelScale, "true class");
  fig.save();
}

void image_grid(const std::string& png, const std::string& title, const std::vector<Tile>& tiles, int columns) {
  const std::string at = str("plots::image_grid(", png, "): ");
  MINIDL_CHECK(!tiles.empty(), at, "no tiles");
  MINIDL_CHECK(columns > 0, at, "columns = ", columns, ", expected > 0");
  int tw = 0, th = 0;
  size_t longest = 0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const Tile& t = tiles[i];
    MINIDL_CHECK(t.width > 0 && t.height > 0 && t.planar_rgb.size() == size_t(t.width) * t.height * 3, at,
                 "tile ", i, " is ", t.width, "x", t.height, " but has ", t.planar_rgb.size(),
                 " bytes (expected width*height*3 planar RGB)");
    tw = std::max(tw, t.width), th = std::max(th, t.height), longest = std::max(longest, t.caption.size());
  }
  // Tiles are upscaled by an integer factor to about 128 px, so pixels stay square blocks.
  // Captions shrink a little to fit under their tile, and widen the cell past that.
  // The page is laid out in pixels and drawn in pixel units (world = pixels, y up).
  columns = std::min<int>(columns, int(tiles.size()));
  const int rows = int((tiles.size() + columns - 1) / columns);
  const int scale = std::max(1, int(std::lround(128.0 / std::max(tw, th))));
  const double caption_scale = std::clamp((tw * scale + 20.0) / (kCharW * std::max<size_t>(longest, 1)), 0.8, 1.0);
  const int cell_w = std::max(tw * scale + 24, int(longest * kCharW * caption_scale) + 24);
  const int cell_h = th * scale + 36, margin = 12, title_h = 50;
  const int page_w = std::max(400, columns * cell_w + 2 * margin), page_h = title_h + rows * cell_h + margin;

  Figure fig(at, png, page_w, page_h);
  plstream& pl = fig.pl();
  pl.vpor(0, 1, 0, 1);
  pl.wind(0, page_w, 0, page_h);
  fig.font(std::min(kTitleScale, (page_w - 20) / (kCharW * std::max<size_t>(title.size(), 1))));
  pl.ptex(page_w / 2.0, page_h - title_h / 2.0, 1, 0, 0.5, esc(title).c_str());
  fig.font(caption_scale);
  pl.width(0.01);  // cairo also strokes each filled polygon's outline, which would grid the pixels
  const double x_start = (page_w - columns * cell_w) / 2.0;
  for (size_t i = 0; i < tiles.size(); ++i) {
    const Tile& t = tiles[i];
    const int plane = t.width * t.height;
    const double left = x_start + double(i % columns) * cell_w + (cell_w - t.width * scale) / 2.0;
    const double top = page_h - title_h - double(i / columns) * cell_h;
    for (int py = 0; py < t.height; ++py) {
      for (int px = 0; px < t.width; ++px) {
        const int k = py * t.width + px;
        pl.scol0(kScratch, t.planar_rgb[k], t.planar_rgb[plane + k], t.planar_rgb[2 * plane + k]), pl.col0(kScratch);
        // Overlap the next pixel by half a pixel so anti-aliased edges leave no seams.
        const double x0 = left + px * scale, x1 = x0 + scale + 0.5;
        const double y1 = top - py * scale, y0 = y1 - scale - 0.5;
        const PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
        pl.fill(4, xs, ys);
      }
    }
    pl.col0(kBlack);
    pl.ptex(left + t.width * scale / 2.0, top - t.height * scale - 15, 1, 0, 0.5, esc(t.caption).c_str());
  }
  fig.save();
}

}  // namespace minidl::plots

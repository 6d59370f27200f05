#include "kernels/cpu/conv_path.h"

#include <atomic>
#include <string>

#include "core/env.h"
#include "core/error.h"
#include "kernels/cpu/conv_layout.h"

namespace minidl::cpu {
namespace conv_detail {
namespace {

std::atomic<int>& lanes_mode() {
  static std::atomic<int> mode{[] {
    const char* env = env_value("MINIDL_CONV_LANES");
    const std::string v = env ? env : "auto";
    MINIDL_CHECK(v == "auto" || v == "always" || v == "never", "MINIDL_CONV_LANES must be auto, always or never, got '",
                 v, "'");
    return static_cast<int>(v == "always" ? ConvLanes::Always : v == "never" ? ConvLanes::Never : ConvLanes::Auto);
  }()};
  return mode;
}

}  // namespace

bool has_avx512() {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool ok = [] {
    const char* env = env_value("MINIDL_CPU_AVX512");
    if (env && std::string(env) == "0") return false;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  }();
  return ok;
#else
  return false;
#endif
}

bool lanes_pay(ConvTuning::LaneCost cost, int64_t N, int64_t threads, int64_t P, int64_t Q, int64_t Wi, int64_t lanes,
               int64_t macs, int64_t copied, int64_t elem_bytes) {
  const auto mode = static_cast<ConvLanes>(lanes_mode().load());
  if (mode != ConvLanes::Auto) return mode == ConvLanes::Always;
  if (copied * lanes * elem_bytes > ConvTuning::kMaxLaneGroupBytes) return false;
  const Grid g = Grid::choose(P, Q, Wi, true, lanes);
  const double grid_fill = static_cast<double>(P * Q) / static_cast<double>(g.slots_per_image(lanes) * lanes);
  const int64_t per_thread = (N + threads - 1) / threads, groups = (per_thread + lanes - 1) / lanes;
  const double lane_fill = static_cast<double>(per_thread) / static_cast<double>(groups * lanes);
  const double m = static_cast<double>(macs);
  return cost.a * m / lane_fill + cost.k * static_cast<double>(copied) < m / grid_fill;
}

ConvPath choose_path(const Conv2dShape& shape, ConvPass pass, int64_t elem_bytes, int64_t lanes, int threads) {
  ConvPath path;
  path.avx512 = has_avx512();
  const bool unit = shape.stride_h == 1 && shape.stride_w == 1;
  if (pass == ConvPass::BackwardData) {
    const Conv2dShape& s = shape;
    if (!unit) {  // one stride-1 convolution per phase, on the pixel grid
      path.phases = true;
      path.parallel = conv_parallel(conv_macs(s));
      return path;
    }
    // The forward convolution of dy padded by (R-1-ph, S-1-pw) with the flipped kernel: K input
    // channels of P x Q, C output channels of H x W.
    const int64_t Hi = s.P + 2 * (s.R - 1 - s.pad_h), Wi = s.Q + 2 * (s.S - 1 - s.pad_w);
    const int64_t macs = s.C * (s.K / s.groups) * s.R * s.S * s.H * s.W;  // per image
    path.parallel = conv_parallel(s.N * macs);
    path.lanes = lanes_pay(ConvTuning::kLanesForward, s.N, path.parallel ? threads : 1, s.H, s.W, Wi, lanes, macs,
                           s.K * Hi * Wi + s.C * s.H * s.W, elem_bytes);
    return path;
  }
  path.subsampled = subsampled_1x1(shape);
  const Conv2dShape s = path.subsampled ? as_subsampled(shape) : shape;
  path.parallel = conv_parallel(conv_macs(s));
  if (s.stride_h != 1 || s.stride_w != 1) return path;
  const int64_t Hi = s.H + 2 * s.pad_h, Wi = s.W + 2 * s.pad_w;
  path.lanes = lanes_pay(pass == ConvPass::Forward ? ConvTuning::kLanesForward : ConvTuning::kLanesWeight, s.N,
                         path.parallel ? threads : 1, s.P, s.Q, Wi, lanes, conv_macs(s) / s.N,
                         s.C * Hi * Wi + s.K * s.P * s.Q, elem_bytes);
  return path;
}

}  // namespace conv_detail

void set_conv_lanes(ConvLanes mode) { conv_detail::lanes_mode() = static_cast<int>(mode); }
ConvLanes conv_lanes() { return static_cast<ConvLanes>(conv_detail::lanes_mode().load()); }

}  // namespace minidl::cpu

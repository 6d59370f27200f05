// Front-end of the augmentation op: drawing the per-image parameters, checks, output allocation,
// the upload of the uint8 batch for CUDA, and the CPU-or-CUDA dispatch.
//   out[n, c, y, x] = 0                                          if (y, x) is in image n's hole
//                   = (in[n, c, y + dy, x' + dx] / 255 - mean[c]) / std[c]   otherwise,
//   x' = W - 1 - x when flipped, else x; in[...] = 0 outside the image (the crop's zero padding).
// No backward: the input is data, not a tensor that requires grad.
#include "kernels/augment.h"

#include <algorithm>
#include <memory>

#include "core/cuda_context.h"
#include "core/philox.h"
#include "core/random.h"
#include "core/storage.h"
#include "kernels/dispatch.h"

namespace minidl {
namespace {

// A tag so the augmentation stream never coincides with other users of the same seed (dropout
// draws from the seed itself, the DataLoader's shuffle uses its own tag).
constexpr uint64_t kAugmentStream = 0x61756731ull;  // "aug1"

// Uniform integer in [0, m) from 32 random bits (multiply-shift; the bias, m / 2^32, is nil here).
int32_t uniform_int(uint32_t bits, int64_t m) {
  return static_cast<int32_t>((static_cast<uint64_t>(bits) * static_cast<uint64_t>(m)) >> 32);
}

// An uninitialized byte buffer on `device` holding a copy of n host bytes.
std::unique_ptr<Storage> upload(const void* host, size_t n, Device device) {
  auto s = std::make_unique<Storage>(n, device);
  cuda::copy_bytes(s->data(), device, host, Device::cpu(), n);
  return s;
}

}  // namespace

const char* pad_fill_name(PadFill f) { return f == PadFill::Mean ? "mean" : "zero"; }

PadFill parse_pad_fill(const std::string& s) {
  if (s == "zero") return PadFill::Zero;
  if (s == "mean") return PadFill::Mean;
  MINIDL_FAIL("unknown pad fill '", s, "': expected zero (black pixels) or mean (the dataset's mean colour)");
}

AugmentParam draw_augment_param(const AugmentOptions& options, int64_t height, int64_t width, uint64_t seed,
                                int64_t epoch, int64_t index) {
  MINIDL_CHECK(index >= 0, "draw_augment_param: sample index must be >= 0, got ", index);
  MINIDL_CHECK(height > 0 && width > 0, "draw_augment_param: image size must be positive, got ", height, "x", width);
  MINIDL_CHECK(options.pad() >= 0, "augment: crop padding must be >= 0, got ", options.pad());
  // Two Philox counters (8 words) per sample: words 0..4 are dy, dx, flip, hole_y, hole_x.
  Generator gen(stream_key(seed, static_cast<uint64_t>(epoch), kAugmentStream));
  gen.set_state(gen.seed(), 2 * static_cast<uint64_t>(index));
  const uint64_t off = gen.advance(8);
  auto word = [&](uint64_t k) { return philox_bits(gen.seed(), off, k); };
  AugmentParam p;
  if (options.crop()) {
    const int64_t span = 2 * options.pad() + 1;  // shifts -pad..pad
    p.dy = uniform_int(word(0), span) - static_cast<int32_t>(options.pad());
    p.dx = uniform_int(word(1), span) - static_cast<int32_t>(options.pad());
  }
  if (options.flip()) p.flip = static_cast<int32_t>(word(2) >> 31);
  if (options.cutout()) {
    p.hole_y = uniform_int(word(3), height);
    p.hole_x = uniform_int(word(4), width);
  }
  return p;
}

std::vector<AugmentParam> draw_augment_params(const AugmentOptions& options, int64_t height, int64_t width,
                                              uint64_t seed, int64_t epoch, const std::vector<int64_t>& indices) {
  std::vector<AugmentParam> params(indices.size());
  for (size_t i = 0; i < indices.size(); ++i)
    params[i] = draw_augment_param(options, height, width, seed, epoch, indices[i]);
  return params;
}

namespace ops {

Tensor augment(const uint8_t* images, const Shape& shape, const std::vector<AugmentParam>& params,
               const AugmentOptions& options, TensorOptions out) {
  MINIDL_CHECK(shape.ndim() == 4, "augment: images must be 4-D (N, C, H, W), got shape ", shape);
  const int64_t N = shape[0], C = shape[1], H = shape[2], W = shape[3];
  MINIDL_CHECK(C >= 1 && C <= AugmentConfig::kMaxChannels && H > 0 && W > 0 && H < (1 << 20) && W < (1 << 20),
               "augment: expected 1 to ", AugmentConfig::kMaxChannels, " channels and a positive image size, got shape ",
               shape);
  MINIDL_CHECK(N == 0 || images != nullptr, "augment: images is null for shape ", shape);
  MINIDL_CHECK(static_cast<int64_t>(params.size()) == N, "augment: expected one parameter set per image (", N,
               " for shape ", shape, "), got ", params.size());
  const std::vector<double>& mean = options.mean();
  const std::vector<double>& stddev = options.stddev();
  MINIDL_CHECK(static_cast<int64_t>(mean.size()) == C && static_cast<int64_t>(stddev.size()) == C,
               "augment: mean and std need one value per channel (", C, " for shape ", shape, "), got ", mean.size(),
               " and ", stddev.size());
  for (int64_t c = 0; c < C; ++c)
    MINIDL_CHECK(stddev[c] > 0, "augment: std must be positive, got ", stddev[c], " for channel ", c);
  MINIDL_CHECK(!options.cutout() || options.cutout_size() >= 0, "augment: cutout size must be >= 0, got ",
               options.cutout_size());

  AugmentConfig cfg;
  cfg.channels = static_cast<int32_t>(C), cfg.height = static_cast<int32_t>(H), cfg.width = static_cast<int32_t>(W);
  cfg.hole_size = options.cutout() ? static_cast<int32_t>(std::min<int64_t>(options.cutout_size(), 1 << 20)) : 0;
  cfg.pad_mean = options.pad_fill() == PadFill::Mean;
  for (int64_t c = 0; c < C; ++c) cfg.mean[c] = mean[c], cfg.stddev[c] = stddev[c];

  Tensor y = empty(shape, TensorOptions(out).requires_grad(false));
  if (N == 0) return y;
  const Device dev = y.device();
  // The kernel reads the images and parameters on its own device: copy them there for CUDA.
  // The buffers may be released right after the launch: every kernel and copy runs in order on
  // one stream, so the caching allocator cannot hand them out before the kernel has read them.
  std::unique_ptr<Storage> src_dev, params_dev;
  const uint8_t* src = images;
  const AugmentParam* prm = params.data();
  if (dev.is_cuda()) {
    src_dev = upload(images, static_cast<size_t>(shape.numel()), dev);
    params_dev = upload(params.data(), params.size() * sizeof(AugmentParam), dev);
    src = static_cast<const uint8_t*>(src_dev->data());
    prm = static_cast<const AugmentParam*>(params_dev->data());
  }
  dispatch_floating(y.dtype(), "augment", [&](auto tag) {
    using T = decltype(tag);
    MINIDL_KERNEL(dev, augment_fwd<T>)(src, prm, y.data<T>(), N, cfg);
  });
  return y;
}

}  // namespace ops
}  // namespace minidl

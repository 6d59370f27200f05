// Training-time augmentation of a batch of uint8 images into a normalized float batch, in one op
// (the CIFAR-10 recipe of the ResNet and Cutout papers). For each image, in this order:
//   1. crop:      pad by `pad` pixels on every side, take a random HxW window
//                 (= shift the image by (dy, dx) in [-pad, pad]^2); the uncovered pixels are
//                 black (pad_fill Zero, torchvision's RandomCrop default) or the dataset's mean
//                 colour (pad_fill Mean: exactly 0 after normalization, so the padding carries no
//                 signal; what many CIFAR training scripts do by padding the normalized tensor)
//   2. flip:      mirror left-right with probability 1/2
//   3. normalize: (v / 255 - mean[c]) / std[c]   (black padding becomes -mean/std, mean padding 0)
//   4. cutout:    a size x size hole centred anywhere in the image, clipped at the border, is
//                 set to 0 AFTER normalization, i.e. to the dataset mean colour (DeVries & Taylor)
// The per-image random parameters are drawn on the host from (seed, epoch, sample index), so a
// sample gets the same augmentation whatever batch or thread prepares it, and the CPU and CUDA
// kernels take the same parameters (their outputs are bit-identical).
//
//   auto params = draw_augment_params(options, 32, 32, seed, epoch, indices);
//   Tensor x = ops::augment(pixels, {B, 3, 32, 32}, params, options, Device::cuda());
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/options.h"
#include "core/tensor.h"
#include "kernels/kernel_list.h"

namespace minidl {

// Per-channel statistics of the CIFAR-10 training images (RGB, pixel values / 255).
inline const std::vector<double> kCifar10Mean = {0.4914, 0.4822, 0.4465};
inline const std::vector<double> kCifar10Std = {0.2470, 0.2435, 0.2616};

// The colour of the pixels a crop shifts in (see step 1 above).
enum class PadFill { Zero, Mean };
// "zero" / "mean", and back; parse_pad_fill throws naming the value and the choices.
const char* pad_fill_name(PadFill f);
PadFill parse_pad_fill(const std::string& s);

// Which augmentations run, chained like libtorch: AugmentOptions().cutout(false).
// normalize_only() is the evaluation transform (no randomness).
class AugmentOptions {
  MINIDL_ARG(bool, crop, true)        // pad by `pad`, then a random crop of the original size
  MINIDL_ARG(int64_t, pad, 4)
  MINIDL_ARG(PadFill, pad_fill, PadFill::Zero)
  MINIDL_ARG(bool, flip, true)        // random horizontal flip
  MINIDL_ARG(bool, cutout, true)      // a random square of cutout_size zeroed
  MINIDL_ARG(int64_t, cutout_size, 8)
  MINIDL_ARG(std::vector<double>, mean, kCifar10Mean)  // per channel, of the [0, 1] pixels
  MINIDL_ARG(std::vector<double>, stddev, kCifar10Std)

 public:
  AugmentOptions& normalize(std::vector<double> mean, std::vector<double> stddev) {
    mean_ = std::move(mean), stddev_ = std::move(stddev);
    return *this;
  }
  static AugmentOptions normalize_only() { return AugmentOptions().crop(false).flip(false).cutout(false); }
};

// The random choices for one image (plain data: copied as is to the GPU).
struct AugmentParam {
  int32_t dy = 0, dx = 0;            // crop shift: out(y, x) = in(y + dy, x + dx), 0 outside the image
  int32_t flip = 0;                  // 1: mirror the cropped image left-right
  int32_t hole_y = 0, hole_x = 0;    // cutout hole centre; rows [hole_y - size/2, +size), clipped
};

// Sizes and constants of one call, passed by value to the kernels. At most 4 channels.
struct AugmentConfig {
  static constexpr int kMaxChannels = 4;
  int32_t channels = 3, height = 32, width = 32;
  int32_t hole_size = 0;  // 0: no cutout
  int32_t pad_mean = 0;   // 1: pixels outside the image are the mean colour (0 after normalizing)
  double mean[kMaxChannels] = {0, 0, 0, 0};
  double stddev[kMaxChannels] = {1, 1, 1, 1};
};

// The parameters of sample `index` in `epoch`: a pure function of (options, size, seed, epoch,
// index), drawn from a Generator keyed by (seed, epoch) at counter offset 2 * index. Disabled
// augmentations give neutral values (no shift, no flip); each draw uses its own fixed random
// word, so turning one augmentation off does not change the others.
AugmentParam draw_augment_param(const AugmentOptions& options, int64_t height, int64_t width, uint64_t seed,
                                int64_t epoch, int64_t index);
std::vector<AugmentParam> draw_augment_params(const AugmentOptions& options, int64_t height, int64_t width,
                                              uint64_t seed, int64_t epoch, const std::vector<int64_t>& indices);

namespace ops {
// images: shape[0] uint8 images of shape[1..3] = (C, H, W), contiguous in HOST memory (CIFAR-10
// binary layout: C planes, row-major). params: one per image (crop and flip are applied as given;
// the hole only when options.cutout()). Returns `out` (float32 or float64, CPU or CUDA) of shape
// [N, C, H, W]; on CUDA the images and parameters are uploaded first. Not differentiable.
Tensor augment(const uint8_t* images, const Shape& shape, const std::vector<AugmentParam>& params,
               const AugmentOptions& options, TensorOptions out = {});
}  // namespace ops

// Raw kernels: src [n, C, H, W] uint8 and params [n] on the kernel's device; identical signatures.
#define MINIDL_AUGMENT_KERNELS(K)                                                                              \
  K(augment_fwd, (const uint8_t* src, const AugmentParam* params, T* out, int64_t n,                           \
      const AugmentConfig& cfg))
namespace ref { MINIDL_AUGMENT_KERNELS(MINIDL_DECLARE_KERNEL) }   // kernels/ref/augment.cpp
namespace cuda { MINIDL_AUGMENT_KERNELS(MINIDL_DECLARE_KERNEL) }  // kernels/cuda/augment.cu

}  // namespace minidl

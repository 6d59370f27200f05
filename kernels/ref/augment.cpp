// The augmentation reference (runs on the CPU): the executable specification of kernels/cuda/augment.cu.
//   crop + flip:  v = in[n, c, y + dy, x' + dx]   (x' = W - 1 - x when flipped)
//   normalize:    out = (v / 255 - mean[c]) / std[c]; outside the image v = 0 (pad_mean 0: black), or
//                 out = 0 (pad_mean 1: the mean colour)
//   cutout:       out = 0 on rows [hole_y - s/2, hole_y - s/2 + s) x the same columns, clipped
// Written as divisions and a subtraction (no multiply-add the compiler could fuse), so the CPU
// and the GPU round identically and their outputs are bit-identical.
// One image per OpenMP iteration; rows are plain loops. No backward (the input is data).
#include <algorithm>

#include "kernels/augment.h"

namespace minidl::ref {

template <class T>
void augment_fwd(const uint8_t* src, const AugmentParam* params, T* out, int64_t n, const AugmentConfig& cfg) {
  const int C = cfg.channels, H = cfg.height, W = cfg.width, S = cfg.hole_size;
  const int64_t plane = static_cast<int64_t>(H) * W;
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    const AugmentParam p = params[i];
    // The hole, clipped at the border (empty when S == 0).
    const int hy0 = std::max(p.hole_y - S / 2, 0), hy1 = std::min(p.hole_y - S / 2 + S, H);
    const int hx0 = std::max(p.hole_x - S / 2, 0), hx1 = std::min(p.hole_x - S / 2 + S, W);
    for (int c = 0; c < C; ++c) {
      const T mean = static_cast<T>(cfg.mean[c]), sd = static_cast<T>(cfg.stddev[c]);
      // A pixel of the padding, normalized: black, or the mean colour (exactly 0).
      const T pad_value = cfg.pad_mean ? T(0) : (T(0) / T(255) - mean) / sd;
      const uint8_t* in = src + (i * C + c) * plane;
      T* o = out + (i * C + c) * plane;
      for (int y = 0; y < H; ++y) {
        T* orow = o + static_cast<int64_t>(y) * W;
        const int sy = y + p.dy;
        if (sy < 0 || sy >= H) {
          std::fill(orow, orow + W, pad_value);
          continue;
        }
        const uint8_t* irow = in + static_cast<int64_t>(sy) * W;
        for (int x = 0; x < W; ++x) {
          const int sx = (p.flip ? W - 1 - x : x) + p.dx;
          orow[x] = sx >= 0 && sx < W ? (static_cast<T>(irow[sx]) / T(255) - mean) / sd : pad_value;
        }
      }
      for (int y = hy0; y < hy1; ++y)
        for (int x = hx0; x < hx1; ++x) o[static_cast<int64_t>(y) * W + x] = T(0);
    }
  }
}

#define MINIDL_KERNELS(K) MINIDL_AUGMENT_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

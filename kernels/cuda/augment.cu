// CUDA augmentation kernel (same math as kernels/ref/augment.cpp):
//   crop + flip:  v = in[n, c, y + dy, x' + dx]   (x' = W - 1 - x when flipped)
//   normalize:    out = (v / 255 - mean[c]) / std[c]; outside the image v = 0 (pad_mean 0: black), or
//                 out = 0 (pad_mean 1: the mean colour)
//   cutout:       out = 0 on rows [hole_y - s/2, hole_y - s/2 + s) x the same columns, clipped
// IEEE division (nvcc's default -prec-div=true) and no multiply-add to contract, so the output
// is bit-identical to the CPU kernel for the same parameters.
// Thread mapping: one thread per output element (n, c, y, x), grid-stride loop; neighbouring
// threads write neighbouring x, so stores are coalesced; the uint8 reads are a shifted (or
// mirrored) row of the same plane. The per-image parameters (20 bytes) come from global memory
// (cached: every thread of an image reads the same ones). No backward (the input is data).
#include "core/cuda_utils.cuh"
#include "kernels/augment.h"

namespace minidl::cuda {
namespace {

template <class T>
__global__ void augment_fwd_kernel(const uint8_t* src, const AugmentParam* params, T* out, int64_t total,
                                   AugmentConfig cfg) {
  const int C = cfg.channels, H = cfg.height, W = cfg.width, S = cfg.hole_size;
  MINIDL_GRID_STRIDE_LOOP(idx, total) {
    const int x = static_cast<int>(idx % W);
    int64_t t = idx / W;
    const int y = static_cast<int>(t % H);
    t /= H;
    const int c = static_cast<int>(t % C);
    const int64_t i = t / C;
    const AugmentParam p = params[i];
    const int hy0 = p.hole_y - S / 2, hx0 = p.hole_x - S / 2;  // clipping is implicit: y, x are inside
    T value = T(0);
    if (!(y >= hy0 && y < hy0 + S && x >= hx0 && x < hx0 + S)) {
      const int sy = y + p.dy, sx = (p.flip ? W - 1 - x : x) + p.dx;
      const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
      if (inside || !cfg.pad_mean) {
        const int v = inside ? src[((i * C + c) * H + sy) * W + sx] : 0;
        value = (static_cast<T>(v) / T(255) - static_cast<T>(cfg.mean[c])) / static_cast<T>(cfg.stddev[c]);
      }
    }
    out[idx] = value;
  }
}

}  // namespace

template <class T>
void augment_fwd(const uint8_t* src, const AugmentParam* params, T* out, int64_t n, const AugmentConfig& cfg) {
  const int64_t total = n * cfg.channels * cfg.height * cfg.width;
  if (total == 0) return;
  MINIDL_LAUNCH(grid_for(total), kBlock, augment_fwd_kernel<T>)(src, params, out, total, cfg);
}

#define MINIDL_KERNELS(K) MINIDL_AUGMENT_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

// The convolution reference (runs on the CPU): the definition, as plain loops. The executable
// specification of the tuned CPU engine (kernels/cpu/conv.cpp), the CUDA engine
// (kernels/cuda/conv.cu) and cuDNN (kernels/cudnn/conv.cu); gradcheck runs on it.
// With G groups, output channel k belongs to group g = k / (K/G) and sees the input channels
// g C/G + c, c < C/G. Tap (r, t) of output pixel (p, q) reads input pixel
//   h = p sh - ph + r,  v = q sw - pw + t          (outside [0, H) x [0, W): padding, zero)
//   forward:         y[n, k, p, q]  = b[k] + sum_{c, r, t} w[k, c, r, t] x[n, g C/G + c, h, v]
//   backward data:   dx[n, g C/G + c, h, v] = sum of w[k, c, r, t] dy[n, k, p, q] over every
//                    (k of group g, p, q, r, t) whose tap reads (h, v)
//   backward weight: dw[k, c, r, t] = sum_{n, p, q} dy[n, k, p, q] x[n, g C/G + c, h, v]
//                    db[k] = sum_{n, p, q} dy[n, k, p, q]
// Sums accumulate in double. OpenMP over the images (forward, backward data: each writes only
// its own image) and over the output channels (backward weight: each owns its dw[k]).
#include <vector>

#include "kernels/conv.h"

namespace minidl::ref {

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t Cg = s.Cg(), Kg = s.Kg();
#pragma omp parallel for
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q) {
          double acc = bias ? bias[k] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride_h - s.pad_h + r, v = q * s.stride_w - s.pad_w + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;  // padding
                acc += static_cast<double>(w[((k * Cg + c) * s.R + r) * s.S + t]) *
                       x[((n * s.C + k / Kg * Cg + c) * s.H + h) * s.W + v];
              }
          y[((n * s.K + k) * s.P + p) * s.Q + q] = static_cast<T>(acc);
        }
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t Cg = s.Cg(), Kg = s.Kg(), image = s.C * s.H * s.W;
#pragma omp parallel for
  for (int64_t n = 0; n < s.N; ++n) {
    // Every (k, p, q, c, r, t) of the forward that read x[n, c', h, v] sends w * dy back to it.
    std::vector<double> acc(static_cast<size_t>(image), 0.0);
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q)
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride_h - s.pad_h + r, v = q * s.stride_w - s.pad_w + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                acc[((k / Kg * Cg + c) * s.H + h) * s.W + v] +=
                    static_cast<double>(w[((k * Cg + c) * s.R + r) * s.S + t]) *
                    dy[((n * s.K + k) * s.P + p) * s.Q + q];
              }
    for (int64_t i = 0; i < image; ++i) dx[n * image + i] = static_cast<T>(acc[i]);
  }
}

template <class T>
void conv2d_bwd_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t Cg = s.Cg(), Kg = s.Kg();
#pragma omp parallel for
  for (int64_t k = 0; k < s.K; ++k) {
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t t = 0; t < s.S; ++t) {
          double acc = 0.0;
          for (int64_t n = 0; n < s.N; ++n)
            for (int64_t p = 0; p < s.P; ++p)
              for (int64_t q = 0; q < s.Q; ++q) {
                const int64_t h = p * s.stride_h - s.pad_h + r, v = q * s.stride_w - s.pad_w + t;
                if (h < 0 || h >= s.H || v < 0 || v >= s.W) continue;
                acc += static_cast<double>(dy[((n * s.K + k) * s.P + p) * s.Q + q]) *
                       x[((n * s.C + k / Kg * Cg + c) * s.H + h) * s.W + v];
              }
          dw[((k * Cg + c) * s.R + r) * s.S + t] = static_cast<T>(acc);
        }
    if (db) {
      double acc = 0.0;
      for (int64_t n = 0; n < s.N; ++n)
        for (int64_t i = 0; i < s.P * s.Q; ++i) acc += dy[(n * s.K + k) * s.P * s.Q + i];
      db[k] = static_cast<T>(acc);
    }
  }
}

#define MINIDL_KERNELS(K) MINIDL_CONV_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::ref

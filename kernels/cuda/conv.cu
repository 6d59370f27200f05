// CUDA convolution kernels (same math as kernels/ref/conv.cpp; cuDNN, the other CUDA engine, is
// kernels/cudnn/conv.cu).
//   forward:         y[n, k, p, q] = b[k] + sum_{c, r, s} w[k, c, r, s] x[n, c, p sh - ph + r, q sw - pw + s]
//   backward data:   dx[n, c, h, w] = sum_{k, r, s} w[k, c, r, s] dy[n, k, (h + ph - r) / sh, (w + pw - s) / sw]
//                    over the (r, s) for which both divisions are exact and land inside dy
//   backward weight: dw[k, c, r, s] = sum_{n, p, q} dy[n, k, p, q] x[n, c, p sh - ph + r, q sw - pw + s]
//                    db[k] = sum_{n, p, q} dy[n, k, p, q]   (bias_bwd of kernels/linear.h)
// (c runs over the input channels of k's group only.) Nothing is saved here: the front-end keeps
// x and w for backward.
//
// Implicit GEMM, no im2col buffer.
//   Forward and backward data are one kernel. It is a GEMM whose rows are output pixels (n, p, q),
//   whose columns are the output channels of one group (grid z), and whose reduction runs over
//   (r, s, input channel). For a fixed tap (r, s) every output pixel reads one input position (or
//   none: padding), so a block walks the taps in its outer loop and the input channels in steps
//   of BK = 8 inside it: the pixel -> input address arithmetic happens once per tap, never per
//   element. The weights are first re-laid out as [g][r][s][c_in][c_out] (a small temporary), so a
//   BK x BN weight tile is BK contiguous row pieces.
//   Thread mapping: 256 threads per block, a BM x BN output tile (128x128, 128x64, 256x32 or 256x16,
//   picked by the channel count); thread (tm, tn) accumulates TM x TN outputs in registers: rows
//   tm + i BM/TM and columns tn + j BN/TN, so a warp reads consecutive shared-memory words (no bank
//   conflicts) and stores consecutive pixels of one channel (coalesced). Each thread loads a fixed
//   pixel's input for BK*BM/256 channels per step; the loads for step k+1 are issued into registers
//   before step k is computed, into the other half of a double-buffered shared tile (one barrier
//   per step). The epilogue adds the bias and writes with `=`.
//   Backward weight: per tap (r, s) and group, a GEMM with rows k, columns c and a reduction over
//   every pixel (n, p, q) in steps of 16, each thread owning TM x TN outputs as above; grid x
//   enumerates (output tile, tap, group) (a grid y of R*S*groups would cap depthwise layers at
//   65535 / (R*S) channels). Its output is small, so the pixel range is split across blocks
//   (grid z) to fill the GPU: each split writes its partial dw to a workspace and a second kernel
//   sums the splits in a fixed order (deterministic, and dw is written with `=`).
#include <algorithm>

#include "core/cuda_context.h"
#include "core/cuda_utils.cuh"
#include "core/tensor.h"
#include "kernels/conv.h"
#include "kernels/linear.h"

namespace minidl::cuda {
namespace {

constexpr int kThreads = 256;

// ---- forward and backward data ----------------------------------------------------------------
enum class Mode { Forward, BackwardData };

// The implicit GEMM's view. Forward: in = x, out = y. Backward data: in = dy, out = dx (the roles
// of the channel counts and spatial sizes swap; the taps, stride and padding are the forward's).
struct IgemmArgs {
  int64_t N;
  int Cin, Hin, Win;     // input tensor
  int Cout, Hout, Wout;  // output tensor
  int Cig, Cog;          // channels per group
  int R, S, sh, sw, ph, pw;
};

template <class T, Mode kMode, int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__(kThreads)
    conv_igemm_kernel(IgemmArgs a, const T* __restrict__ in, const T* __restrict__ wt, const T* __restrict__ bias,
                      T* __restrict__ out) {
  constexpr int BK = 8;
  constexpr int TX = BM / TM;               // threads along the pixels
  constexpr int TY = BN / TN;               // threads along the channels
  static_assert(TX * TY == kThreads, "one output tile per 256 threads");
  static_assert(kThreads % BM == 0 || BM % kThreads == 0, "fixed pixel per loading thread");
  constexpr int kAPer = BK * BM / kThreads;  // input elements each thread loads per step
  constexpr int kBPer = (BK * BN + kThreads - 1) / kThreads;
  __shared__ T As[2][BK][BM];
  __shared__ T Bs[2][BK][BN];

  const int tid = threadIdx.x, g = blockIdx.z;
  const int HWin = a.Hin * a.Win, HWout = a.Hout * a.Wout;
  const int64_t M = a.N * HWout;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * BM;
  const int n0 = blockIdx.y * BN;

  // The pixel whose input this thread loads (the same for every step) and its channel rows.
  const int am = tid % BM, ak = tid / BM;  // rows ak + i * (kThreads / BM)
  const int64_t m = m0 + am;
  const bool m_ok = m < M;
  int oh = 0, ow = 0;
  int64_t in_base = 0;
  if (m_ok) {
    const int64_t img = m / HWout;
    const int rem = static_cast<int>(m - img * HWout);
    oh = rem / a.Wout, ow = rem % a.Wout;
    in_base = (img * a.Cin + static_cast<int64_t>(g) * a.Cig) * HWin;
  }
  const int cblocks = (a.Cig + BK - 1) / BK;
  const int steps = a.R * a.S * cblocks;
  const T* wg = wt + static_cast<int64_t>(g) * a.R * a.S * a.Cig * a.Cog;  // [r][s][c_in][c_out]

  T a_reg[kAPer], b_reg[kBPer];
  // Global -> registers for step `step` = (tap rs, channels c0 .. c0 + BK).
  auto load = [&](int step) {
    const int rs = step / cblocks, c0 = (step - rs * cblocks) * BK;
    const int r = rs / a.S, s = rs - r * a.S;
    int ih, iw;
    bool ok = m_ok;
    if (kMode == Mode::Forward) {
      ih = oh * a.sh - a.ph + r, iw = ow * a.sw - a.pw + s;
    } else {  // dx(oh, ow) receives dy(ih, iw) when oh = ih sh - ph + r
      const int th = oh + a.ph - r, tw = ow + a.pw - s;
      ok = ok && th >= 0 && tw >= 0 && th % a.sh == 0 && tw % a.sw == 0;
      ih = th / a.sh, iw = tw / a.sw;
    }
    ok = ok && ih >= 0 && ih < a.Hin && iw >= 0 && iw < a.Win;
    const T* src = in + in_base + (ok ? ih * a.Win + iw : 0);
#pragma unroll
    for (int i = 0; i < kAPer; ++i) {
      const int c = c0 + ak + i * (kThreads / BM);
      a_reg[i] = (ok && c < a.Cig) ? src[static_cast<int64_t>(c) * HWin] : T(0);
    }
    const T* wrow = wg + static_cast<int64_t>(rs) * a.Cig * a.Cog;
#pragma unroll
    for (int i = 0; i < kBPer; ++i) {
      const int l = tid + i * kThreads, c = c0 + l / BN, co = n0 + l % BN;
      b_reg[i] = (l < BK * BN && c < a.Cig && co < a.Cog) ? wrow[static_cast<int64_t>(c) * a.Cog + co] : T(0);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kAPer; ++i) As[buf][ak + i * (kThreads / BM)][am] = a_reg[i];
#pragma unroll
    for (int i = 0; i < kBPer; ++i) {
      const int l = tid + i * kThreads;
      if (l < BK * BN) Bs[buf][l / BN][l % BN] = b_reg[i];
    }
  };

  const int tm = tid % TX, tn = tid / TX;
  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

  load(0);
  store(0);
  __syncthreads();
  for (int step = 0; step < steps; ++step) {
    const int buf = step & 1;
    if (step + 1 < steps) load(step + 1);  // in flight while this step computes
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      T av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = As[buf][k][tm + i * TX];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = Bs[buf][k][tn + j * TY];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
    }
    // The other buffer was last read in step - 1, which every thread finished before the
    // barrier that ended it.
    if (step + 1 < steps) store(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t mo = m0 + tm + i * TX;
    if (mo >= M) continue;
    const int64_t img = mo / HWout;
    const int64_t rem = mo - img * HWout;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int co = n0 + tn + j * TY;
      if (co >= a.Cog) continue;
      const int oc = g * a.Cog + co;
      out[(img * a.Cout + oc) * HWout + rem] = acc[i][j] + (bias ? bias[oc] : T(0));
    }
  }
}

// wt[g][r][s][ci][co] from w[K][C/G][R][S]. Forward: ci = c, co = k within the group. Backward
// data (swap): ci = k, co = c.
template <class T>
__global__ void relayout_weights_kernel(const T* w, T* wt, int K, int Cg, int R, int S, int G, bool swap, int64_t n) {
  const int Kg = K / G, RS = R * S;
  MINIDL_GRID_STRIDE_LOOP(idx, n) {
    const int rs = static_cast<int>(idx % RS);
    const int c = static_cast<int>((idx / RS) % Cg);
    const int k = static_cast<int>(idx / (static_cast<int64_t>(RS) * Cg));
    const int g = k / Kg, kl = k % Kg;
    const int64_t base = (static_cast<int64_t>(g) * RS + rs) * Cg * Kg;
    wt[base + (swap ? static_cast<int64_t>(kl) * Cg + c : static_cast<int64_t>(c) * Kg + kl)] = w[idx];
  }
}

template <class T, Mode kMode, int BM, int BN, int TM, int TN>
void launch_igemm(const IgemmArgs& a, const T* in, const T* wt, const T* bias, T* out, int groups) {
  MINIDL_CHECK(groups <= 65535, "conv2d (cuda): at most 65535 groups (one grid z slice each), got ", groups);
  const int64_t M = a.N * a.Hout * a.Wout;
  const dim3 grid(static_cast<unsigned>((M + BM - 1) / BM), static_cast<unsigned>((a.Cog + BN - 1) / BN),
                  static_cast<unsigned>(groups));
  MINIDL_LAUNCH(grid, kThreads, conv_igemm_kernel<T, kMode, BM, BN, TM, TN>)(a, in, wt, bias, out);
}

// Picks the output tile by the number of output channels per group (the GEMM's columns).
template <class T, Mode kMode>
void run_igemm(const IgemmArgs& a, const T* in, const T* wt, const T* bias, T* out, int groups) {
  if (a.Cog > 64) launch_igemm<T, kMode, 128, 128, 8, 8>(a, in, wt, bias, out, groups);
  else if (a.Cog > 32) launch_igemm<T, kMode, 128, 64, 8, 4>(a, in, wt, bias, out, groups);
  else if (a.Cog > 16) launch_igemm<T, kMode, 256, 32, 8, 4>(a, in, wt, bias, out, groups);
  else launch_igemm<T, kMode, 256, 16, 4, 4>(a, in, wt, bias, out, groups);
}

template <class T>
Tensor relayout_weights(const Conv2dShape& s, const T* w, bool swap) {
  const int64_t n = s.K * s.Cg() * s.R * s.S;
  Tensor wt = empty({n}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
  MINIDL_LAUNCH(grid_for(n), kBlock, relayout_weights_kernel)(w, wt.data<T>(), static_cast<int>(s.K),
                                                              static_cast<int>(s.Cg()), static_cast<int>(s.R),
                                                              static_cast<int>(s.S), static_cast<int>(s.groups),
                                                              swap, n);
  return wt;
}

// ---- backward weight ---------------------------------------------------------------------------
struct WgradArgs {
  int64_t N;
  int C, H, W, K, P, Q, Cg, Kg, R, S, sh, sw, ph, pw;
  int64_t pix_per_split;  // pixels (n, p, q) each split (grid z) reduces
};

template <class T, int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__(kThreads)
    conv_wgrad_kernel(WgradArgs a, const T* __restrict__ x, const T* __restrict__ dy, T* __restrict__ out) {
  constexpr int BK = 16;                    // pixels per step
  constexpr int TX = BM / TM, TY = BN / TN;  // threads along k, along c
  static_assert(TX * TY == kThreads, "one output tile per 256 threads");
  constexpr int kRows = kThreads / BK;       // rows (k or c) loaded per pass
  constexpr int kAPer = BM / kRows, kBPer = BN / kRows;
  static_assert(kAPer * kRows == BM && kBPer * kRows == BN, "tiles are multiples of 16 rows");
  // [pixel][k] from dy and [pixel][c] from x. A warp stores 16 pixels x 2 rows: the +1 puts the
  // 16 pixels in different banks.
  __shared__ T As[2][BK][BM + 1];
  __shared__ T Bs[2][BK][BN + 1];

  const int tid = threadIdx.x;
  const int ktiles = (a.Kg + BM - 1) / BM, tiles = ktiles * ((a.Cg + BN - 1) / BN);
  const int tile = static_cast<int>(blockIdx.x % tiles), tap_group = static_cast<int>(blockIdx.x / tiles);
  const int k0 = (tile % ktiles) * BM, c0 = (tile / ktiles) * BN;
  const int RS = a.R * a.S, rs = tap_group % RS, g = tap_group / RS;
  const int r = rs / a.S, s = rs - r * a.S;
  const int PQ = a.P * a.Q, HW = a.H * a.W;
  const int64_t NPQ = a.N * PQ;
  const int64_t pbeg = blockIdx.z * a.pix_per_split, pend = min(NPQ, pbeg + a.pix_per_split);
  const int steps = static_cast<int>((pend - pbeg + BK - 1) / BK);

  const int lp = tid % BK, lr = tid / BK;  // the pixel this thread loads, and its first row
  T a_reg[kAPer], b_reg[kBPer];
  auto load = [&](int step) {
    const int64_t pix = pbeg + static_cast<int64_t>(step) * BK + lp;
    bool ok = pix < pend;
    int64_t img = 0;
    int p = 0, q = 0;
    if (ok) {
      img = pix / PQ;
      const int rem = static_cast<int>(pix - img * PQ);
      p = rem / a.Q, q = rem % a.Q;
    }
    const int ih = p * a.sh - a.ph + r, iw = q * a.sw - a.pw + s;
    const bool xok = ok && ih >= 0 && ih < a.H && iw >= 0 && iw < a.W;
    const T* dyp = dy + (img * a.K + static_cast<int64_t>(g) * a.Kg) * PQ + p * a.Q + q;
    const T* xp = x + (img * a.C + static_cast<int64_t>(g) * a.Cg) * HW + (xok ? ih * a.W + iw : 0);
#pragma unroll
    for (int i = 0; i < kAPer; ++i) {
      const int k = k0 + lr + i * kRows;
      a_reg[i] = (ok && k < a.Kg) ? dyp[static_cast<int64_t>(k) * PQ] : T(0);
    }
#pragma unroll
    for (int i = 0; i < kBPer; ++i) {
      const int c = c0 + lr + i * kRows;
      b_reg[i] = (xok && c < a.Cg) ? xp[static_cast<int64_t>(c) * HW] : T(0);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kAPer; ++i) As[buf][lp][lr + i * kRows] = a_reg[i];
#pragma unroll
    for (int i = 0; i < kBPer; ++i) Bs[buf][lp][lr + i * kRows] = b_reg[i];
  };

  const int tm = tid % TX, tn = tid / TX;
  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

  if (steps > 0) {
    load(0);
    store(0);
  }
  __syncthreads();
  for (int step = 0; step < steps; ++step) {
    const int buf = step & 1;
    if (step + 1 < steps) load(step + 1);
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      T av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = As[buf][kk][tm + i * TX];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = Bs[buf][kk][tn + j * TY];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
    }
    if (step + 1 < steps) store(buf ^ 1);
    __syncthreads();
  }

  // dw[(g Kg + k) Cg + c][rs], in split blockIdx.z's slice of out.
  T* o = out + static_cast<int64_t>(blockIdx.z) * a.K * a.Cg * RS;
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int k = k0 + tm + i * TX;
    if (k >= a.Kg) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int c = c0 + tn + j * TY;
      if (c < a.Cg) o[((static_cast<int64_t>(g) * a.Kg + k) * a.Cg + c) * RS + rs] = acc[i][j];
    }
  }
}

// dw[i] = sum_z part[z n + i], z = 0 .. splits-1 in order.
template <class T>
__global__ void sum_splits_kernel(const T* part, T* dw, int splits, int64_t n) {
  MINIDL_GRID_STRIDE_LOOP(i, n) {
    T acc = 0;
    for (int z = 0; z < splits; ++z) acc += part[z * n + i];
    dw[i] = acc;
  }
}

int sm_count() {
  static const int n = [] {
    int dev = 0, count = 0;
    MINIDL_CUDA_CHECK(cudaGetDevice(&dev));
    MINIDL_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, dev));
    return count;
  }();
  return n;
}

template <class T, int BM, int BN, int TM, int TN>
void launch_wgrad(const Conv2dShape& s, const T* x, const T* dy, T* dw) {
  WgradArgs a{s.N,
              static_cast<int>(s.C),
              static_cast<int>(s.H),
              static_cast<int>(s.W),
              static_cast<int>(s.K),
              static_cast<int>(s.P),
              static_cast<int>(s.Q),
              static_cast<int>(s.Cg()),
              static_cast<int>(s.Kg()),
              static_cast<int>(s.R),
              static_cast<int>(s.S),
              static_cast<int>(s.stride_h),
              static_cast<int>(s.stride_w),
              static_cast<int>(s.pad_h),
              static_cast<int>(s.pad_w),
              0};
  const int64_t tiles = ((s.Kg() + BM - 1) / BM) * ((s.Cg() + BN - 1) / BN);
  const int64_t blocks = tiles * s.R * s.S * s.groups;
  // Enough splits for ~4 blocks per SM, each still reducing at least 1024 pixels.
  const int64_t NPQ = s.N * s.P * s.Q;
  const int64_t want = std::max<int64_t>(1, std::min<int64_t>((4 * sm_count() + blocks - 1) / blocks, NPQ / 1024));
  a.pix_per_split = ((NPQ + want - 1) / want + 15) / 16 * 16;
  const int64_t splits = std::max<int64_t>(1, (NPQ + a.pix_per_split - 1) / a.pix_per_split);
  const int64_t nw = s.K * s.Cg() * s.R * s.S;
  Tensor part;
  T* out = dw;
  if (splits > 1) {
    part = empty({splits * nw}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
    out = part.data<T>();
  }
  const dim3 grid(static_cast<unsigned>(blocks), 1, static_cast<unsigned>(splits));
  MINIDL_LAUNCH(grid, kThreads, conv_wgrad_kernel<T, BM, BN, TM, TN>)(a, x, dy, out);
  if (splits > 1) {
    MINIDL_LAUNCH(grid_for(nw), kBlock, sum_splits_kernel)(out, dw, static_cast<int>(splits), nw);
  }
}

}  // namespace

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.N == 0) return;
  const Tensor wt = relayout_weights(s, w, false);
  const IgemmArgs a{s.N,
                    static_cast<int>(s.C),
                    static_cast<int>(s.H),
                    static_cast<int>(s.W),
                    static_cast<int>(s.K),
                    static_cast<int>(s.P),
                    static_cast<int>(s.Q),
                    static_cast<int>(s.Cg()),
                    static_cast<int>(s.Kg()),
                    static_cast<int>(s.R),
                    static_cast<int>(s.S),
                    static_cast<int>(s.stride_h),
                    static_cast<int>(s.stride_w),
                    static_cast<int>(s.pad_h),
                    static_cast<int>(s.pad_w)};
  run_igemm<T, Mode::Forward>(a, x, wt.data<T>(), bias, y, static_cast<int>(s.groups));
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (s.N == 0) return;
  const Tensor wt = relayout_weights(s, w, true);
  // The GEMM reads dy (K channels, P x Q) and writes dx (C channels, H x W).
  const IgemmArgs a{s.N,
                    static_cast<int>(s.K),
                    static_cast<int>(s.P),
                    static_cast<int>(s.Q),
                    static_cast<int>(s.C),
                    static_cast<int>(s.H),
                    static_cast<int>(s.W),
                    static_cast<int>(s.Kg()),
                    static_cast<int>(s.Cg()),
                    static_cast<int>(s.R),
                    static_cast<int>(s.S),
                    static_cast<int>(s.stride_h),
                    static_cast<int>(s.stride_w),
                    static_cast<int>(s.pad_h),
                    static_cast<int>(s.pad_w)};
  run_igemm<T, Mode::BackwardData>(a, dy, wt.data<T>(), static_cast<const T*>(nullptr), dx,
                                   static_cast<int>(s.groups));
}

template <class T>
void conv2d_bwd_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (s.N == 0) {  // no pixels: the sums are empty
    cuda::fill(dw, dtype_of<T>(), s.K * s.Cg() * s.R * s.S, 0.0);
    if (db) cuda::fill(db, dtype_of<T>(), s.K, 0.0);
    return;
  }
  if (s.Kg() > 32 && s.Cg() > 32) launch_wgrad<T, 64, 64, 4, 4>(s, x, dy, dw);
  else launch_wgrad<T, 32, 32, 2, 2>(s, x, dy, dw);
  if (db) bias_bwd<T>(dy, db, s.N, s.K, s.P * s.Q);
}

#define MINIDL_KERNELS(K) MINIDL_CONV_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cuda

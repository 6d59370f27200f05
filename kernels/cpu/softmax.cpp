// The tuned CPU softmax engine (the default on the CPU; the plain reference is kernels/ref/softmax.cpp).
// x is viewed as [outer, D, inner]; every (o, i) is one independent row of D values.
//   softmax_fwd:     m = max_k x_k,  s = sum_k exp(x_k - m),  y_k = exp(x_k - m) / s
//   log_softmax_fwd: y_k = (x_k - m) - log(s)
// Subtracting the max makes every exponent <= 0: no overflow for logits like 1000, and the
// largest term is exactly 1, so s >= 1 and log(s) is finite.
// Backward, from the saved output y (dL/dx = J^T dy with the softmax Jacobian):
//   softmax_bwd:     dx_k = y_k (dy_k - sum_j dy_j y_j)
//   log_softmax_bwd: dx_k = dy_k - exp(y_k) sum_j dy_j
// Row sums accumulate in double. Three layouts:
//   inner == 1, D >= 64: contiguous rows, three vectorized passes per row (max, exp-sum, write).
//   inner == 1, D < 64 (classifier logits, e.g. [128, 10]): per-row vector loops would be mostly
//     loop overhead, so 64 rows are handled together and the exponentials of the whole chunk
//     are one flat vectorized loop (3x faster than row by row for D = 10).
//   inner > 1: a tile of up to 64 neighbouring positions i is processed together so the inner
//     loops run over contiguous memory.
// Exponentials use exp_nonpos (kernels/cpu/simd.h), which vectorizes; std::exp would not.
// OpenMP splits the work across the threads only when there is enough of it: a [128, 10]
// softmax takes a microsecond or two, about what forking a parallel region costs.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/simd.h"
#include "kernels/softmax.h"

namespace minidl::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 14;  // elements; below this, one thread is faster
constexpr int64_t kTile = 64;              // positions i handled together when inner > 1
constexpr int64_t kShortRow = 64;          // contiguous rows shorter than this are done in chunks...
constexpr int64_t kChunkRows = 64;         // ...of this many rows

// fn(r) for every r in [0, rows), serially for small work (no OpenMP region at all) or split
// across the threads.
template <class Fn>
void for_rows(int64_t rows, int64_t work, const Fn& fn) {
  if (work < kParallelMin || rows < 2) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) fn(r);
}

// ---- long contiguous rows (inner == 1, D >= kShortRow) -------------------------------------------

template <class T, bool kLog>
void fwd_row(const T* x, T* y, int64_t D) {
  T m = x[0];
#pragma omp simd reduction(max : m)
  for (int64_t k = 1; k < D; ++k) m = x[k] > m ? x[k] : m;  // not std::max: its references defeat the vectorizer
  double s = 0.0;
  if constexpr (kLog) {
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < D; ++k) s += exp_nonpos(x[k] - m);
    const T log_s = static_cast<T>(std::log(s));
#pragma omp simd
    for (int64_t k = 0; k < D; ++k) y[k] = (x[k] - m) - log_s;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < D; ++k) {
      const T e = exp_nonpos(x[k] - m);
      y[k] = e;
      s += e;
    }
    const T inv = static_cast<T>(1.0 / s);
#pragma omp simd
    for (int64_t k = 0; k < D; ++k) y[k] *= inv;
  }
}

template <class T, bool kLog>
void bwd_row(const T* y, const T* dy, T* dx, int64_t D) {
  double s = 0.0;  // softmax: sum dy * y;  log_softmax: sum dy
  if constexpr (kLog) {
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < D; ++k) s += dy[k];
    const T st = static_cast<T>(s);
#pragma omp simd
    for (int64_t k = 0; k < D; ++k) dx[k] = dy[k] - exp_nonpos(y[k]) * st;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < D; ++k) s += static_cast<double>(dy[k]) * y[k];
    const T st = static_cast<T>(s);
#pragma omp simd
    for (int64_t k = 0; k < D; ++k) dx[k] = y[k] * (dy[k] - st);
  }
}

// ---- short contiguous rows (inner == 1, D < kShortRow): a chunk of n <= kChunkRows rows ----------

template <class T, bool kLog>
void fwd_short_rows(const T* x, T* y, int64_t n, int64_t D) {
  T e[kChunkRows * kShortRow];  // the exponentials (log_softmax keeps x - m in y)
  T* out = kLog ? e : y;
  for (int64_t r = 0; r < n; ++r) {
    const T* xr = x + r * D;
    T m = xr[0];
    for (int64_t k = 1; k < D; ++k) m = xr[k] > m ? xr[k] : m;
    for (int64_t k = 0; k < D; ++k) y[r * D + k] = xr[k] - m;
  }
#pragma omp simd
  for (int64_t j = 0; j < n * D; ++j) out[j] = exp_nonpos(y[j]);
  for (int64_t r = 0; r < n; ++r) {
    double s = 0.0;
    for (int64_t k = 0; k < D; ++k) s += out[r * D + k];
    const T f = static_cast<T>(kLog ? std::log(s) : 1.0 / s);
    T* yr = y + r * D;
    for (int64_t k = 0; k < D; ++k) yr[k] = kLog ? yr[k] - f : yr[k] * f;
  }
}

template <class T, bool kLog>
void bwd_short_rows(const T* y, const T* dy, T* dx, int64_t n, int64_t D) {
  if constexpr (kLog) {
#pragma omp simd
    for (int64_t j = 0; j < n * D; ++j) dx[j] = exp_nonpos(y[j]);  // softmax = exp(log_softmax)
  }
  for (int64_t r = 0; r < n; ++r) {
    const T* yr = y + r * D;
    const T* dyr = dy + r * D;
    T* dxr = dx + r * D;
    double s = 0.0;
    for (int64_t k = 0; k < D; ++k) s += kLog ? static_cast<double>(dyr[k]) : static_cast<double>(dyr[k]) * yr[k];
    const T st = static_cast<T>(s);
    for (int64_t k = 0; k < D; ++k) dxr[k] = kLog ? dyr[k] - dxr[k] * st : yr[k] * (dyr[k] - st);
  }
}

// ---- strided rows (inner > 1): a tile of w <= kTile positions starting at x[i0] ------------------

template <class T, bool kLog>
void fwd_tile(const T* x, T* y, int64_t D, int64_t inner, int64_t w) {
  T m[kTile];
  double s[kTile];
  for (int64_t i = 0; i < w; ++i) m[i] = x[i], s[i] = 0.0;
  for (int64_t k = 1; k < D; ++k) {
    const T* xk = x + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < w; ++i) m[i] = xk[i] > m[i] ? xk[i] : m[i];
  }
  for (int64_t k = 0; k < D; ++k) {
    const T* xk = x + k * inner;
    T* yk = y + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < w; ++i) {
      const T e = exp_nonpos(xk[i] - m[i]);
      if constexpr (!kLog) yk[i] = e;
      s[i] += e;
    }
  }
  T f[kTile];  // log(s) or 1 / s
  for (int64_t i = 0; i < w; ++i) f[i] = static_cast<T>(kLog ? std::log(s[i]) : 1.0 / s[i]);
  for (int64_t k = 0; k < D; ++k) {
    const T* xk = x + k * inner;
    T* yk = y + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < w; ++i) yk[i] = kLog ? (xk[i] - m[i]) - f[i] : yk[i] * f[i];
  }
}

template <class T, bool kLog>
void bwd_tile(const T* y, const T* dy, T* dx, int64_t D, int64_t inner, int64_t w) {
  double s[kTile] = {};
  for (int64_t k = 0; k < D; ++k) {
    const T* yk = y + k * inner;
    const T* dyk = dy + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < w; ++i) s[i] += kLog ? static_cast<double>(dyk[i]) : static_cast<double>(dyk[i]) * yk[i];
  }
  T st[kTile];
  for (int64_t i = 0; i < w; ++i) st[i] = static_cast<T>(s[i]);
  for (int64_t k = 0; k < D; ++k) {
    const T* yk = y + k * inner;
    const T* dyk = dy + k * inner;
    T* dxk = dx + k * inner;
#pragma omp simd
    for (int64_t i = 0; i < w; ++i) dxk[i] = kLog ? dyk[i] - exp_nonpos(yk[i]) * st[i] : yk[i] * (dyk[i] - st[i]);
  }
}

// Both directions: row kernels when inner == 1, tiles otherwise.
template <class T, bool kLog>
void fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  if (outer * D * inner == 0) return;
  if (inner == 1 && D < kShortRow) {
    const int64_t chunks = (outer + kChunkRows - 1) / kChunkRows;
    for_rows(chunks, outer * D, [&](int64_t c) {
      const int64_t o = c * kChunkRows;
      fwd_short_rows<T, kLog>(x + o * D, y + o * D, std::min(kChunkRows, outer - o), D);
    });
    return;
  }
  if (inner == 1) {
    for_rows(outer, outer * D, [&](int64_t o) { fwd_row<T, kLog>(x + o * D, y + o * D, D); });
    return;
  }
  const int64_t tiles = (inner + kTile - 1) / kTile;
  for_rows(outer * tiles, outer * D * inner, [&](int64_t r) {
    const int64_t o = r / tiles, i0 = (r % tiles) * kTile;
    const int64_t off = o * D * inner + i0;
    fwd_tile<T, kLog>(x + off, y + off, D, inner, std::min(kTile, inner - i0));
  });
}

template <class T, bool kLog>
void bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  if (outer * D * inner == 0) return;
  if (inner == 1 && D < kShortRow) {
    const int64_t chunks = (outer + kChunkRows - 1) / kChunkRows;
    for_rows(chunks, outer * D, [&](int64_t c) {
      const int64_t o = c * kChunkRows;
      bwd_short_rows<T, kLog>(y + o * D, dy + o * D, dx + o * D, std::min(kChunkRows, outer - o), D);
    });
    return;
  }
  if (inner == 1) {
    for_rows(outer, outer * D, [&](int64_t o) { bwd_row<T, kLog>(y + o * D, dy + o * D, dx + o * D, D); });
    return;
  }
  const int64_t tiles = (inner + kTile - 1) / kTile;
  for_rows(outer * tiles, outer * D * inner, [&](int64_t r) {
    const int64_t o = r / tiles, i0 = (r % tiles) * kTile;
    const int64_t off = o * D * inner + i0;
    bwd_tile<T, kLog>(y + off, dy + off, dx + off, D, inner, std::min(kTile, inner - i0));
  });
}

}  // namespace

template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  fwd<T, false>(x, y, outer, D, inner);
}
template <class T>
void log_softmax_fwd(const T* x, T* y, int64_t outer, int64_t D, int64_t inner) {
  fwd<T, true>(x, y, outer, D, inner);
}
template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  bwd<T, false>(y, dy, dx, outer, D, inner);
}
template <class T>
void log_softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t D, int64_t inner) {
  bwd<T, true>(y, dy, dx, outer, D, inner);
}

#define MINIDL_KERNELS(K) MINIDL_SOFTMAX_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cpu

// cuDNN's convolution: the vendor engine of conv2d (conv_engine().set(Engine::Cudnn) or
// MINIDL_CONV_ENGINE=cudnn). Same math as kernels/ref/conv.cpp:
//   forward:         y[n, k, p, q] = b[k] + sum_{c, r, s} w[k, c, r, s] x[n, c, p sh - ph + r, q sw - pw + s]
//   backward data:   dx = the transposed convolution of dy with w
//   backward weight: dw[k, c, r, s] = sum_{n, p, q} dy[n, k, p, q] x[n, c, p sh - ph + r, q sw - pw + s]
// cuDNN does the convolutions; the bias (y += b[k], db[k] = sum dy) uses the CUDA engine's bias
// kernels (kernels/cuda/linear.cu), the same plain sums either way.
// Built only when cudnn.h was found at configure time. The legacy cudnnConvolutionForward /
// BackwardData / BackwardFilter calls. The algorithm is searched once per shape and op with
// cudnnFind*AlgorithmEx and cached: the fastest *deterministic* one that fits (so a cuDNN run is
// bit-reproducible, as the cuda engine is; cuDNN's atomics-based backward-filter algorithms are
// faster but not), falling back to a non-deterministic one only when no deterministic algorithm
// qualifies. The search workspace is what the hungriest algorithm asks for, capped at 1 GiB and
// at half the free device memory, and shrunk while its allocation runs out of memory (then Find
// simply skips the algorithms that need more).
// Workspaces are CUDA tensors from the caching allocator; the descriptors (RAII, float32 with FMA
// math: no TF32) are the shared ones of kernels/cudnn/vendor.cuh.
#if MINIDL_WITH_CUDNN
#include <algorithm>
#include <array>
#include <map>
#include <mutex>

#include "core/cuda_context.h"
#include "core/tensor.h"
#include "kernels/conv.h"
#include "kernels/cudnn/vendor.cuh"
#include "kernels/linear.h"

namespace minidl::cudnn {
namespace {

constexpr const char* kOp = "conv2d (cudnn)";

// The descriptors of one convolution: x [N, C, H, W], y [N, K, P, Q], w [K, C/G, R, S].
struct ConvDescs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  ConvDescs(const Conv2dShape& s, cudnnDataType_t t)
      : x(kOp, s.N, s.C, s.H, s.W, t),
        y(kOp, s.N, s.K, s.P, s.Q, t),
        w(kOp, s.K, s.Cg(), s.R, s.S, t),
        conv(kOp, s.pad_h, s.pad_w, s.stride_h, s.stride_w, s.groups, t) {}
};

// A workspace of `bytes` from the caching allocator (a float32 CUDA tensor holding that many bytes).
Tensor workspace(size_t bytes) {
  if (bytes == 0) return Tensor();
  return empty({static_cast<int64_t>((bytes + 3) / 4)}, TensorOptions().dtype(DType::Float32).device(Device::cuda()));
}
void* ptr(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

constexpr size_t kMaxWorkspace = size_t(1) << 30;  // algorithms that want more are not considered

enum class Op { Forward, BackwardData, BackwardFilter };
struct Algo {
  int algo = 0;
  size_t workspace = 0;
};

// The algorithm for (op, dtype, shape), searched on first use with cudnnFind*Ex.
class AlgoCache {
 public:
  template <class Find>
  Algo get(Op op, cudnnDataType_t t, const Conv2dShape& s, Find&& find) {
    const std::array<int64_t, 16> key{static_cast<int64_t>(op), static_cast<int64_t>(t), s.N, s.C, s.H, s.W, s.K, s.R,
                                      s.S, s.P, s.Q, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.groups};
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, find()).first;
    return it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::array<int64_t, 16>, Algo> cache_;
};
AlgoCache& algo_cache() {
  static AlgoCache cache;
  return cache;
}

// The fastest successful result of a cudnnFind*Ex (sorted by time) that fits the workspace, uses
// no tensor-op math and is deterministic; a non-deterministic one only if none is.
template <class Perf>
Algo pick(const Perf* perf, int n, size_t limit, const char* what, const Conv2dShape& s) {
  for (bool deterministic_only : {true, false})
    for (int i = 0; i < n; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= limit &&
          perf[i].mathType != CUDNN_TENSOR_OP_MATH && perf[i].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION &&
          (!deterministic_only || perf[i].determinism == CUDNN_DETERMINISTIC))
        return {static_cast<int>(perf[i].algo), perf[i].memory};
  MINIDL_FAIL("conv2d (cudnn): no ", what, " algorithm for input [", s.N, ", ", s.C, ", ", s.H, ", ", s.W,
              "], weight [", s.K, ", ", s.Cg(), ", ", s.R, ", ", s.S, "]");
}

// The workspace for the algorithm search: `limit` bytes (what the hungriest algorithm asks for),
// capped at half the free device memory and shrunk while the allocation runs out of memory;
// `limit` is updated to what was obtained (0: only algorithms without a workspace are tried).
Tensor search_workspace(size_t& limit) {
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) limit = std::min(limit, free_bytes / 2);
  else cudaGetLastError();
  for (;;) {
    try {
      return workspace(limit);
    } catch (const cuda::OutOfMemoryError&) {
      if (limit == 0) throw;
      limit = limit < (size_t(1) << 20) ? 0 : limit / 4;
    }
  }
}

// The largest workspace any algorithm of the op asks for (capped), for the search.
template <class SizeFn>
size_t max_workspace(int count, SizeFn&& size_of) {
  size_t best = 0;
  for (int algo = 0; algo < count; ++algo) {
    size_t bytes = 0;
    if (size_of(algo, &bytes) == CUDNN_STATUS_SUCCESS && bytes <= kMaxWorkspace) best = std::max(best, bytes);
  }
  return best;
}

}  // namespace

template <class T>
void conv2d_fwd(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (s.N == 0) return;
  const cudnnDataType_t t = data_type<T>();
  const ConvDescs d(s, t);
  cudnnHandle_t h = handle();
  const Algo algo = algo_cache().get(Op::Forward, t, s, [&] {
    size_t limit = max_workspace(CUDNN_CONVOLUTION_FWD_ALGO_COUNT, [&](int a, size_t* bytes) {
      return cudnnGetConvolutionForwardWorkspaceSize(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                     static_cast<cudnnConvolutionFwdAlgo_t>(a), bytes);
    });
    Tensor ws = search_workspace(limit);
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    MINIDL_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, d.x.get(), x, d.w.get(), w, d.conv.get(), d.y.get(),
                                                              y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf, ptr(ws),
                                                              limit));
    return pick(perf, n, limit, "forward", s);
  });
  Tensor ws = workspace(algo.workspace);
  const T one = 1, zero = 0;
  MINIDL_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x.get(), x, d.w.get(), w, d.conv.get(),
                                             static_cast<cudnnConvolutionFwdAlgo_t>(algo.algo), ptr(ws),
                                             algo.workspace, &zero, d.y.get(), y));
  if (bias) cuda::bias_add<T>(y, bias, s.N, s.K, s.P * s.Q);
}

template <class T>
void conv2d_bwd_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (s.N == 0) return;
  const cudnnDataType_t t = data_type<T>();
  const ConvDescs d(s, t);
  cudnnHandle_t h = handle();
  const Algo algo = algo_cache().get(Op::BackwardData, t, s, [&] {
    size_t limit = max_workspace(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, [&](int a, size_t* bytes) {
      return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                          static_cast<cudnnConvolutionBwdDataAlgo_t>(a), bytes);
    });
    Tensor ws = search_workspace(limit);
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    MINIDL_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w.get(), w, d.y.get(), dy, d.conv.get(),
                                                                   d.x.get(), dx, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                                   &n, perf, ptr(ws), limit));
    return pick(perf, n, limit, "backward-data", s);
  });
  Tensor ws = workspace(algo.workspace);
  const T one = 1, zero = 0;
  MINIDL_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w.get(), w, d.y.get(), dy, d.conv.get(),
                                                  static_cast<cudnnConvolutionBwdDataAlgo_t>(algo.algo), ptr(ws),
                                                  algo.workspace, &zero, d.x.get(), dx));
}

template <class T>
void conv2d_bwd_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* db) {
  if (s.N == 0) {  // no pixels: the sums are empty
    cuda::fill(dw, dtype_of<T>(), s.K * s.Cg() * s.R * s.S, 0.0);
    if (db) cuda::fill(db, dtype_of<T>(), s.K, 0.0);
    return;
  }
  const cudnnDataType_t t = data_type<T>();
  const ConvDescs d(s, t);
  cudnnHandle_t h = handle();
  const Algo algo = algo_cache().get(Op::BackwardFilter, t, s, [&] {
    size_t limit = max_workspace(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, [&](int a, size_t* bytes) {
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                            static_cast<cudnnConvolutionBwdFilterAlgo_t>(a), bytes);
    });
    Tensor ws = search_workspace(limit);
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    MINIDL_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                                                     d.w.get(), dw,
                                                                     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf,
                                                                     ptr(ws), limit));
    return pick(perf, n, limit, "backward-filter", s);
  });
  Tensor ws = workspace(algo.workspace);
  const T one = 1, zero = 0;
  MINIDL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                                    static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo.algo), ptr(ws),
                                                    algo.workspace, &zero, d.w.get(), dw));
  if (db) cuda::bias_bwd<T>(dy, db, s.N, s.K, s.P * s.Q);
}

#define MINIDL_KERNELS(K) MINIDL_CONV_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cudnn
#endif  // MINIDL_WITH_CUDNN

// cuDNN's batch norm: the vendor engine of batch_norm (batch_norm_engine().set(Engine::Cudnn) or
// MINIDL_BN_ENGINE=cudnn). Same math as kernels/ref/norm.cpp:
//   training: mean, biased var over (N, S) per channel, invstd = 1 / sqrt(var + eps),
//             y = gamma (x - mean) invstd + beta; running stats updated with the unbiased var
//   eval:     the same with mean = running_mean, invstd = 1 / sqrt(running_var + eps)
//   backward (training only): dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)),
//             dgamma = sum dy xhat, dbeta = sum dy
// cuDNN 9 still ships the legacy cudnnBatchNormalizationForwardTraining / ForwardInference /
// Backward (deprecated in favour of the graph API, warnings only with CUDNN_WARN_DEPRECATED). x
// is described as N x C x S x 1 and the per-channel tensors as 1 x C x 1 x 1
// (CUDNN_BATCHNORM_SPATIAL). cuDNN saves the same mean and inverse std the other engines do, and
// its running variance is also the unbiased one. Its backward is the training formula: the
// front-end (kernels/norm.cpp) runs the eval-mode backward on the cuda engine.
#if MINIDL_WITH_CUDNN
#include "core/tensor.h"
#include "kernels/cudnn/vendor.cuh"
#include "kernels/norm.h"

namespace minidl::cudnn {
namespace {

template <class T>
Tensor scratch(int64_t n) {
  return empty({n}, TensorOptions().dtype(dtype_of<T>()).device(Device::cuda()));
}

// x as N x C x S x 1 and the derived 1 x C x 1 x 1 descriptor of gamma, beta and the statistics.
template <class T>
struct BnDescs {
  TensorDesc x, channel;
  BnDescs(int64_t N, int64_t C, int64_t S) : x("batch_norm (cudnn)", N, C, S, 1, data_type<T>()) {
    MINIDL_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(channel.get(), x.get(), CUDNN_BATCHNORM_SPATIAL));
  }
};

// cuDNN needs a scale and a bias: without affine, gamma = 1 and beta = 0.
template <class T>
struct AffineOrDefault {
  Tensor ones_, zeros_;
  const T *gamma, *beta;
  AffineOrDefault(const T* g, const T* b, int64_t C) : gamma(g), beta(b) {
    const TensorOptions o = TensorOptions().dtype(dtype_of<T>()).device(Device::cuda());
    if (!gamma) ones_ = ones({C}, o), gamma = ones_.data<T>();
    if (!beta) zeros_ = zeros({C}, o), beta = zeros_.data<T>();
  }
};

// Eval: the statistics batch_norm normalizes with (and saves for backward).
template <class T>
__global__ void eval_stats_kernel(const T* running_mean, const T* running_var, int64_t C, double eps, T* mean,
                                  T* invstd) {
  MINIDL_GRID_STRIDE_LOOP(c, C) {
    mean[c] = running_mean[c];
    invstd[c] = T(1) / sqrt(running_var[c] + T(eps));
  }
}

}  // namespace

template <class T>
void batch_norm_fwd_train(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* invstd, T* running_mean,
                          T* running_var, int64_t N, int64_t C, int64_t S, double momentum, double eps) {
  if (N * C * S == 0) return;
  const BnDescs<T> d(N, C, S);
  const AffineOrDefault<T> p(gamma, beta, C);
  const T one = 1, zero = 0;  // y = 1 * result + 0 * y
  // running_mean / running_var may both be null (not updated); cuDNN accepts that.
  MINIDL_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, d.x.get(),
                                                            x, d.x.get(), y, d.channel.get(), p.gamma, p.beta,
                                                            momentum, running_mean, running_var, eps, mean, invstd));
}

template <class T>
void batch_norm_fwd_eval(const T* x, const T* gamma, const T* beta, const T* running_mean, const T* running_var, T* y,
                         T* mean, T* invstd, int64_t N, int64_t C, int64_t S, double eps) {
  if (C == 0) return;
  MINIDL_LAUNCH(cuda::grid_for(C), cuda::kBlock, eval_stats_kernel)(running_mean, running_var, C, eps, mean, invstd);
  if (N * S == 0) return;
  const BnDescs<T> d(N, C, S);
  const AffineOrDefault<T> p(gamma, beta, C);
  const T one = 1, zero = 0;
  MINIDL_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero,
                                                             d.x.get(), x, d.x.get(), y, d.channel.get(), p.gamma,
                                                             p.beta, running_mean, running_var, eps));
}

template <class T>
void batch_norm_bwd(const T* dy, const T* x, const T* gamma, const T* mean, const T* invstd, T* dx, T* dgamma,
                    T* dbeta, int64_t N, int64_t C, int64_t S, bool training) {
  MINIDL_CHECK(training, "batch_norm (cudnn): cuDNN has no eval-mode backward; kernels/norm.cpp runs it on cuda");
  if (N * C * S == 0) return;
  const BnDescs<T> d(N, C, S);
  const AffineOrDefault<T> p(gamma, nullptr, C);
  // cuDNN always writes all three gradients: scratch for the ones nobody asked for.
  Tensor dx_tmp, dgamma_tmp, dbeta_tmp;
  if (!dx) dx_tmp = scratch<T>(N * C * S), dx = dx_tmp.data<T>();
  if (!dgamma) dgamma_tmp = scratch<T>(C), dgamma = dgamma_tmp.data<T>();
  if (!dbeta) dbeta_tmp = scratch<T>(C), dbeta = dbeta_tmp.data<T>();
  const T one = 1, zero = 0;  // write (=) both the data and the parameter gradients
  // epsilon only matters when the saved statistics are not passed; they always are here.
  MINIDL_CUDNN_CHECK(cudnnBatchNormalizationBackward(handle(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero,
                                                     d.x.get(), x, d.x.get(), dy, d.x.get(), dx, d.channel.get(),
                                                     p.gamma, dgamma, dbeta, 1e-5, mean, invstd));
}

#define MINIDL_KERNELS(K) MINIDL_BATCH_NORM_KERNELS(K)
#include "kernels/instantiate.inc"

}  // namespace minidl::cudnn
#endif  // MINIDL_WITH_CUDNN

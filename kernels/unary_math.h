// The math of every pointwise unary op, written once and compiled for the CPU reference
// (kernels/ref/unary.cpp) and for the CUDA kernels (kernels/cuda/unary.cu), so the two engines
// cannot disagree on a formula. Each op is a struct with
//   f(x, a, b)      the forward value y
//   df(x, y, a, b)  dy/dx, from the input x and the output y (whichever is simpler)
// a and b are the op's scalar parameters (unused ones are 0). Semantics, defaults and the value of
// the derivative at kinks follow PyTorch (torch.nn.functional / torch.*):
//   exp         y = e^x                                   dy/dx = y
//   log         y = ln x                                  dy/dx = 1 / x
//   log1p       y = ln(1 + x)                             dy/dx = 1 / (1 + x)
//   sqrt        y = sqrt(x)                               dy/dx = 1 / (2 y)
//   rsqrt       y = 1 / sqrt(x)                           dy/dx = -y^3 / 2
//   abs         y = |x|                                   dy/dx = sign(x)   (0 at 0)
//   neg         y = -x                                    dy/dx = -1
//   sign        y = sign(x) in {-1, 0, 1}                 dy/dx = 0
//   sigmoid     y = 1 / (1 + e^-x)                        dy/dx = y (1 - y)
//   tanh        y = tanh x                                dy/dx = 1 - y^2
//   gelu        y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2           dy/dx = Phi(x) + x phi(x),
//               phi(x) = e^(-x^2/2) / sqrt(2 pi)          (approximate="none")
//   gelu_tanh   y = x (1 + tanh u) / 2, u = sqrt(2/pi) (x + 0.044715 x^3)   (approximate="tanh")
//               dy/dx = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2
//   leaky_relu  y = x if x > 0 else a x   (a = negative_slope)        dy/dx = 1 if x > 0 else a
//   elu         y = x if x > 0 else a (e^x - 1)   (a = alpha)         dy/dx = 1 if x > 0 else a e^x
//   softplus    y = ln(1 + e^(a x)) / a, or x where a x > b   (a = beta, b = threshold)
//               dy/dx = sigmoid(a x), or 1 where a x > b
//   hardswish   y = x min(max(x + 3, 0), 6) / 6           dy/dx = 0 (x < -3), x / 3 + 1/2 (x <= 3), 1
//   mish        y = x tanh(softplus(x)), softplus(x) = ln(1 + e^x)
//               dy/dx = tanh(sp) + x (1 - tanh^2(sp)) sigmoid(x)
//   pow         y = x^a   (a: the scalar exponent)        dy/dx = a x^(a-1)   (0 when a = 0)
//   clamp       y = min(max(x, a), b)                     dy/dx = 1 if a <= x <= b else 0
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define MINIDL_UNARY_FN __host__ __device__ __forceinline__
#else
#define MINIDL_UNARY_FN inline
#endif

namespace minidl {

// The op list: X(name, Struct). The enum, the dispatch in both engines and the names in error
// messages come from here.
#define MINIDL_UNARY_OPS(X)                                                                              \
  X(exp, Exp) X(log, Log) X(log1p, Log1p) X(sqrt, Sqrt) X(rsqrt, Rsqrt) X(abs, Abs) X(neg, Neg)            \
  X(sign, Sign) X(sigmoid, Sigmoid) X(tanh, Tanh) X(gelu, Gelu) X(gelu_tanh, GeluTanh)                     \
  X(leaky_relu, LeakyRelu) X(elu, Elu) X(softplus, Softplus) X(hardswish, Hardswish) X(mish, Mish) X(pow, Pow)           \
  X(clamp, Clamp)

enum class UnaryOp : int32_t {
#define MINIDL_UNARY_ENUM_(name, S) S,
  MINIDL_UNARY_OPS(MINIDL_UNARY_ENUM_)
#undef MINIDL_UNARY_ENUM_
};
const char* unary_op_name(UnaryOp op);  // "gelu_tanh"

namespace unary {

// float and double overloads of the C math functions, so one expression serves both types on the
// host and on the device (the f-suffixed functions are CUDA's and C's float versions).
MINIDL_UNARY_FN float m_exp(float v) { return expf(v); }
MINIDL_UNARY_FN double m_exp(double v) { return exp(v); }
MINIDL_UNARY_FN float m_log(float v) { return logf(v); }
MINIDL_UNARY_FN double m_log(double v) { return log(v); }
MINIDL_UNARY_FN float m_log1p(float v) { return log1pf(v); }
MINIDL_UNARY_FN double m_log1p(double v) { return log1p(v); }
MINIDL_UNARY_FN float m_sqrt(float v) { return sqrtf(v); }
MINIDL_UNARY_FN double m_sqrt(double v) { return sqrt(v); }
MINIDL_UNARY_FN float m_tanh(float v) { return tanhf(v); }
MINIDL_UNARY_FN double m_tanh(double v) { return tanh(v); }
MINIDL_UNARY_FN float m_erf(float v) { return erff(v); }
MINIDL_UNARY_FN double m_erf(double v) { return erf(v); }
MINIDL_UNARY_FN float m_pow(float v, float p) { return powf(v, p); }
MINIDL_UNARY_FN double m_pow(double v, double p) { return pow(v, p); }

struct Exp {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return m_exp(x); }
  template <class T> static MINIDL_UNARY_FN T df(T, T y, T, T) { return y; }
};
struct Log {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return m_log(x); }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) { return T(1) / x; }
};
struct Log1p {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return m_log1p(x); }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) { return T(1) / (T(1) + x); }
};
struct Sqrt {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return m_sqrt(x); }
  template <class T> static MINIDL_UNARY_FN T df(T, T y, T, T) { return T(1) / (T(2) * y); }
};
struct Rsqrt {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return T(1) / m_sqrt(x); }
  template <class T> static MINIDL_UNARY_FN T df(T, T y, T, T) { return T(-0.5) * y * y * y; }
};
struct Abs {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return x < T(0) ? -x : x; }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) { return T((x > T(0)) - (x < T(0))); }
};
struct Neg {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return -x; }
  template <class T> static MINIDL_UNARY_FN T df(T, T, T, T) { return T(-1); }
};
struct Sign {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return T((x > T(0)) - (x < T(0))); }
  template <class T> static MINIDL_UNARY_FN T df(T, T, T, T) { return T(0); }
};
struct Sigmoid {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return T(1) / (T(1) + m_exp(-x)); }
  template <class T> static MINIDL_UNARY_FN T df(T, T y, T, T) { return y * (T(1) - y); }
};
struct Tanh {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return m_tanh(x); }
  template <class T> static MINIDL_UNARY_FN T df(T, T y, T, T) { return T(1) - y * y; }
};
struct Gelu {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) {
    return x * T(0.5) * (T(1) + m_erf(x * T(0.70710678118654752440)));
  }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) {
    const T cdf = T(0.5) * (T(1) + m_erf(x * T(0.70710678118654752440)));
    const T pdf = m_exp(T(-0.5) * x * x) * T(0.39894228040143267794);  // 1 / sqrt(2 pi)
    return cdf + x * pdf;
  }
};
struct GeluTanh {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) {
    const T u = T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);  // sqrt(2 / pi)
    return T(0.5) * x * (T(1) + m_tanh(u));
  }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) {
    const T k = T(0.79788456080286535588);
    const T t = m_tanh(k * (x + T(0.044715) * x * x * x));
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * k * (T(1) + T(3 * 0.044715) * x * x);
  }
};
struct LeakyRelu {
  template <class T> static MINIDL_UNARY_FN T f(T x, T a, T) { return x > T(0) ? x : a * x; }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T a, T) { return x > T(0) ? T(1) : a; }
};
struct Elu {
  template <class T> static MINIDL_UNARY_FN T f(T x, T a, T) { return x > T(0) ? x : a * (m_exp(x) - T(1)); }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T a, T) { return x > T(0) ? T(1) : a * m_exp(x); }
};
struct Softplus {
  template <class T> static MINIDL_UNARY_FN T f(T x, T a, T b) {
    return a * x > b ? x : m_log1p(m_exp(a * x)) / a;
  }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T a, T b) {
    return a * x > b ? T(1) : T(1) / (T(1) + m_exp(-a * x));
  }
};
struct Hardswish {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) {
    const T r = x + T(3) < T(0) ? T(0) : (x + T(3) > T(6) ? T(6) : x + T(3));
    return x * r / T(6);
  }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) {
    return x < T(-3) ? T(0) : (x <= T(3) ? x / T(3) + T(0.5) : T(1));
  }
};
struct Mish {
  template <class T> static MINIDL_UNARY_FN T f(T x, T, T) { return x * m_tanh(m_log1p(m_exp(x))); }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T, T) {
    const T t = m_tanh(m_log1p(m_exp(x)));
    return t + x * (T(1) - t * t) / (T(1) + m_exp(-x));
  }
};
struct Pow {
  template <class T> static MINIDL_UNARY_FN T f(T x, T a, T) { return m_pow(x, a); }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T a, T) { return a == T(0) ? T(0) : a * m_pow(x, a - T(1)); }
};
struct Clamp {
  template <class T> static MINIDL_UNARY_FN T f(T x, T a, T b) { return x < a ? a : (x > b ? b : x); }
  template <class T> static MINIDL_UNARY_FN T df(T x, T, T a, T b) { return x >= a && x <= b ? T(1) : T(0); }
};

}  // namespace unary
}  // namespace minidl

// Serving row kernels: scalar reference and dispatch by kernel path.
#include "serve_ops.h"

#include <cmath>
#include <cstring>

#include "cpu.h"

namespace moe {
namespace {

void silu_mul_ref(const float* g, const float* u, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void matmul_ref(const float* x, size_t T, const double* wt, size_t in, size_t out, float* y) {
  for (size_t t = 0; t < T; ++t)
    for (size_t o = 0; o < out; ++o) {
      double s = 0;
      for (size_t i = 0; i < in; ++i) s += static_cast<double>(x[t * in + i]) * wt[i * out + o];
      y[t * out + o] = static_cast<float>(s);
    }
}

const serve::Isa& isa() {
  static const serve::Isa ref{silu_mul_ref, matmul_ref}, avx2 = serve::isa_avx2(), avx512 = serve::isa_avx512();
  switch (current_path()) {
    case KernelPath::Reference: return ref;
    case KernelPath::Avx2: return avx2;
    default: return avx512;
  }
}

}  // namespace

void silu_mul_rows(const float* y, size_t T, size_t ld, size_t g0, size_t u0, size_t n, float* out) {
  const serve::Isa& I = isa();
  parallel_for(T, 16, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) I.silu_mul(y + t * ld + g0, y + t * ld + u0, n, out + t * n);
  });
}

void matmul_t_f64(const float* x, const double* wt, size_t T, size_t in, size_t out, float* y) {
  const serve::Isa& I = isa();
  parallel_for(T, 16, [&](size_t b, size_t e) { I.matmul_f64(x + b * in, e - b, wt, in, out, y + b * out); });
}

// No FMA contraction: this file is built without -mfma (and -std=c++20 keeps -ffp-contract=off), so every
// product and sum below rounds as the JavaScript it replaces.
void rmsnorm_rows(const float* x, const float* a, const float* w, size_t T, size_t d, double eps, float* sum, float* y) {
  const float* src = x;
  if (a) {
    add_rows(x, a, T * d, sum);
    src = sum;
  }
  auto scale = [&](size_t t, double ss) {
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(d) + eps);
    const float* xs = src + t * d;
    float* ys = y + t * d;
    for (size_t i = 0; i < d; ++i) ys[i] = static_cast<float>(static_cast<double>(xs[i]) * r * static_cast<double>(w[i]));
  };
  size_t t = 0;
  for (; t + 4 <= T; t += 4) {
    const float *x0 = src + t * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i < d; ++i) {
      s0 += static_cast<double>(x0[i]) * x0[i];
      s1 += static_cast<double>(x1[i]) * x1[i];
      s2 += static_cast<double>(x2[i]) * x2[i];
      s3 += static_cast<double>(x3[i]) * x3[i];
    }
    scale(t, s0);
    scale(t + 1, s1);
    scale(t + 2, s2);
    scale(t + 3, s3);
  }
  for (; t < T; ++t) {
    const float* xs = src + t * d;
    double s = 0;
    for (size_t i = 0; i < d; ++i) s += static_cast<double>(xs[i]) * xs[i];
    scale(t, s);
  }
}

void moe_combine_rows(const float* ys, const int32_t* pair_of, const double* weight, size_t rows, size_t K, size_t d,
                      const float* shared, size_t T, float* y) {
  std::memset(y, 0, T * d * sizeof(float));
  for (size_t i = 0; i < rows; ++i) {
    const size_t pair = static_cast<size_t>(pair_of[i]);
    const double wt = weight[pair];
    float* yt = y + (pair / K) * d;
    const float* yi = ys + i * d;
    for (size_t j = 0; j < d; ++j) yt[j] = static_cast<float>(static_cast<double>(yt[j]) + wt * static_cast<double>(yi[j]));
  }
  if (shared) add_rows(y, shared, T * d, y);
}

void gather_pair_rows(const float* x, const int32_t* pair_of, size_t rows, size_t K, size_t d, float* out) {
  for (size_t i = 0; i < rows; ++i) std::memcpy(out + i * d, x + (static_cast<size_t>(pair_of[i]) / K) * d, d * sizeof(float));
}

void add_rows(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

}  // namespace moe

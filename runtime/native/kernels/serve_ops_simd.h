// The serving row kernels over a SIMD width (V: float lanes F, double lanes D; see serve_ops_avx2.cc).
#pragma once
#include <cmath>
#include <cstddef>

namespace moe {
namespace serve {
namespace simd {

template <class V>
static void silu_mul(const float* g, const float* u, size_t n, float* out) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) {
    typename V::F x = V::load(g + i);
    typename V::F s = V::div(x, V::add(V::set1(1.0f), V::exp(V::neg(x))));
    V::store(out + i, V::mul(s, V::load(u + i)));
  }
  for (; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

// Each output's float64 sum runs in i order (the lanes are different outputs), so every path gives the reference's bits.
template <class V>
static void matvec_f64(const float* x, const double* wt, size_t in, size_t out, float* y) {
  constexpr size_t D = V::DW;
  size_t o = 0;
  for (; o + 4 * D <= out; o += 4 * D) {
    typename V::D a0 = V::dzero(), a1 = V::dzero(), a2 = V::dzero(), a3 = V::dzero();
    for (size_t i = 0; i < in; ++i) {
      typename V::D xi = V::dset1(static_cast<double>(x[i]));
      const double* w = wt + i * out + o;
      a0 = V::dfma(xi, V::dload(w), a0);
      a1 = V::dfma(xi, V::dload(w + D), a1);
      a2 = V::dfma(xi, V::dload(w + 2 * D), a2);
      a3 = V::dfma(xi, V::dload(w + 3 * D), a3);
    }
    V::dstore_f32(y + o, a0);
    V::dstore_f32(y + o + D, a1);
    V::dstore_f32(y + o + 2 * D, a2);
    V::dstore_f32(y + o + 3 * D, a3);
  }
  for (; o < out; ++o) {
    double s = 0;
    for (size_t i = 0; i < in; ++i) s += static_cast<double>(x[i]) * wt[i * out + o];
    y[o] = static_cast<float>(s);
  }
}

}  // namespace simd
}  // namespace serve
}  // namespace moe

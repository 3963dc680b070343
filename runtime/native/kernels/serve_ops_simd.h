// The serving row kernels over a SIMD width (V: float lanes F, double lanes D; simd_lanes.h).
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

// Each output's float64 sum runs in i order (the lanes are different outputs, the R rows independent chains), so every
// path gives the reference's bits. R rows x NV vectors of outputs per pass: the weights are loaded once for R rows and
// R*NV accumulators hide the FMA latency (a 16-output MoE gate was a scalar loop before).
template <class V, int R, int NV>
static inline void matmul_f64_block(const float* x, size_t in, const double* wt, size_t out, size_t o, float* y) {
  constexpr size_t D = V::DW;
  typename V::D acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = V::dzero();
  for (size_t i = 0; i < in; ++i) {
    const double* w = wt + i * out + o;
    typename V::D wv[NV];
    for (int v = 0; v < NV; ++v) wv[v] = V::dload(w + v * D);
    for (int r = 0; r < R; ++r) {
      typename V::D xi = V::dset1(static_cast<double>(x[r * in + i]));
      for (int v = 0; v < NV; ++v) acc[r][v] = V::dfma(xi, wv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) V::dstore_f32(y + r * out + o + v * D, acc[r][v]);
}

template <class V, int R>
static inline void matmul_f64_rows(const float* x, size_t in, const double* wt, size_t out, float* y) {
  constexpr size_t D = V::DW;
  size_t o = 0;
  for (; o + 4 * D <= out; o += 4 * D) matmul_f64_block<V, R, 4>(x, in, wt, out, o, y);
  for (; o + 2 * D <= out; o += 2 * D) matmul_f64_block<V, R, 2>(x, in, wt, out, o, y);
  for (; o + D <= out; o += D) matmul_f64_block<V, R, 1>(x, in, wt, out, o, y);
  for (; o < out; ++o)
    for (int r = 0; r < R; ++r) {
      double s = 0;
      for (size_t i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * wt[i * out + o];
      y[r * out + o] = static_cast<float>(s);
    }
}

// T rows: y[t, o] for o < out (see matmul_t_f64).
template <class V>
static void matmul_f64(const float* x, size_t T, const double* wt, size_t in, size_t out, float* y) {
  size_t t = 0;
  for (; t + 4 <= T; t += 4) matmul_f64_rows<V, 4>(x + t * in, in, wt, out, y + t * out);
  for (; t < T; ++t) matmul_f64_rows<V, 1>(x + t * in, in, wt, out, y + t * out);
}

}  // namespace simd
}  // namespace serve
}  // namespace moe

// The training row kernels over a SIMD width (V: W float lanes; simd_lanes.h). Sums
// run in float32 lanes (four vector accumulators, then the lanes), not float64; exp is the polynomial of
// simd_exp.h (~2 ulp). The scalar reference is train_ops.cc's.
#pragma once
#include <cmath>
#include <cstddef>

#include "serve_ops_simd.h"

namespace moe {
namespace train {
namespace simd {

// SiLU(g)·u is serving's silu_mul: one vector loop and tail for both rooms.
template <class V>
static void swiglu_fwd(const float* g, const float* u, size_t n, float* a) {
  serve::simd::silu_mul<V>(g, u, n, a);
}

template <class V>
static void swiglu_bwd(const float* g, const float* u, const float* da, size_t n, float* dg, float* du) {
  size_t i = 0;
  const typename V::F one = V::set1(1.0f);
  for (; i + V::W <= n; i += V::W) {
    const typename V::F x = V::load(g + i), d = V::load(da + i);
    const typename V::F s = V::div(one, V::add(one, V::exp(V::neg(x))));
    const typename V::F ds = V::mul(d, s);
    V::store(du + i, V::mul(ds, x));
    V::store(dg + i, V::mul(V::mul(ds, V::load(u + i)), V::add(one, V::mul(x, V::sub(one, s)))));
  }
  for (; i < n; ++i) {
    const float s = 1.0f / (1.0f + std::exp(-g[i]));
    du[i] = da[i] * g[i] * s;
    dg[i] = da[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
  }
}

// sum of a[i] * b[i] over n (a == b: the sum of squares) in float32 lanes.
template <class V>
static inline float dot(const float* a, const float* b, size_t n) {
  typename V::F s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();
  size_t i = 0;
  for (; i + 4 * V::W <= n; i += 4 * V::W) {
    s0 = V::fma(V::load(a + i), V::load(b + i), s0);
    s1 = V::fma(V::load(a + i + V::W), V::load(b + i + V::W), s1);
    s2 = V::fma(V::load(a + i + 2 * V::W), V::load(b + i + 2 * V::W), s2);
    s3 = V::fma(V::load(a + i + 3 * V::W), V::load(b + i + 3 * V::W), s3);
  }
  for (; i + V::W <= n; i += V::W) s0 = V::fma(V::load(a + i), V::load(b + i), s0);
  float s = V::hsum(V::add(V::add(s0, s1), V::add(s2, s3)));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <class V>
static void rmsnorm_fwd(const float* x, const float* w, size_t T, size_t D, double eps, float* y, float* r) {
  for (size_t t = 0; t < T; ++t) {
    const float* xr = x + t * D;
    float* yr = y + t * D;
    const float rt = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dot<V>(xr, xr, D)) / static_cast<double>(D) + eps));
    r[t] = rt;
    const typename V::F rv = V::set1(rt);
    size_t i = 0;
    for (; i + V::W <= D; i += V::W) V::store(yr + i, V::mul(V::mul(V::load(xr + i), rv), V::load(w + i)));
    for (; i < D; ++i) yr[i] = xr[i] * rt * w[i];
  }
}

// dx = r * (dy*w - x*c), c = r^2 * sum(dy*w*x) / D.
template <class V>
static void rmsnorm_bwd(const float* x, const float* w, const float* r, const float* dy, size_t T, size_t D, float* dx) {
  for (size_t t = 0; t < T; ++t) {
    const float* xr = x + t * D;
    const float* g = dy + t * D;
    float* o = dx + t * D;
    typename V::F s0 = V::zero(), s1 = V::zero();
    size_t i = 0;
    for (; i + 2 * V::W <= D; i += 2 * V::W) {
      s0 = V::fma(V::mul(V::load(g + i), V::load(w + i)), V::load(xr + i), s0);
      s1 = V::fma(V::mul(V::load(g + i + V::W), V::load(w + i + V::W)), V::load(xr + i + V::W), s1);
    }
    for (; i + V::W <= D; i += V::W) s0 = V::fma(V::mul(V::load(g + i), V::load(w + i)), V::load(xr + i), s0);
    float gx = V::hsum(V::add(s0, s1));
    for (; i < D; ++i) gx += g[i] * w[i] * xr[i];
    const float rt = r[t], c = rt * rt * gx / static_cast<float>(D);
    const typename V::F rv = V::set1(rt), cv = V::set1(c);
    i = 0;
    for (; i + V::W <= D; i += V::W)
      V::store(o + i, V::mul(rv, V::sub(V::mul(V::load(g + i), V::load(w + i)), V::mul(V::load(xr + i), cv))));
    for (; i < D; ++i) o[i] = rt * (g[i] * w[i] - xr[i] * c);
  }
}

// dw[d] += sum over rows of dy * x * r, columns [d0, d1).
template <class V>
static void rmsnorm_dw(const float* x, const float* r, const float* dy, size_t T, size_t D, size_t d0, size_t d1, float* dw) {
  for (size_t t = 0; t < T; ++t) {
    const float* xr = x + t * D;
    const float* g = dy + t * D;
    const typename V::F rv = V::set1(r[t]);
    size_t i = d0;
    for (; i + V::W <= d1; i += V::W) V::store(dw + i, V::add(V::load(dw + i), V::mul(V::mul(V::load(g + i), V::load(xr + i)), rv)));
    for (; i < d1; ++i) dw[i] += g[i] * xr[i] * r[t];
  }
}

// sc[j] = sum_e a[e] * Mt[e * ld + j] for the blocks of 16 keys from jb0 through the one holding j1 (Mt padded to
// whole blocks), e < n: NB blocks at a time, each key's sum one FMA chain in e order.
template <class V, size_t NB>
static inline void dot_nb(const float* a, const float* Mt, size_t n, size_t ld, size_t jb, float* sc) {
  constexpr size_t NV = 16 / V::W;
  typename V::F acc[NB * NV];
  for (size_t v = 0; v < NB * NV; ++v) acc[v] = V::zero();
  for (size_t e = 0; e < n; ++e) {
    const typename V::F x = V::set1(a[e]);
    const float* m = Mt + e * ld + jb;
    for (size_t v = 0; v < NB * NV; ++v) acc[v] = V::fma(x, V::load(m + v * V::W), acc[v]);
  }
  for (size_t v = 0; v < NB * NV; ++v) V::store(sc + jb + v * V::W, acc[v]);
}

template <class V>
static void dot_blocks(const float* a, const float* Mt, size_t n, size_t ld, size_t jb0, size_t j1, float* sc) {
  size_t jb = jb0;
  for (; jb + 3 * 16 <= j1; jb += 4 * 16) dot_nb<V, 4>(a, Mt, n, ld, jb, sc);
  for (; jb <= j1; jb += 16) dot_nb<V, 1>(a, Mt, n, ld, jb, sc);
}

// out[e] = sum_{j0 <= j <= j1} w[j] * M[j * ld + e] in j order, e < n (NB vectors of outputs at a time); w[j] == 0
// skipped when skip_zero.
template <class V, size_t NB>
static inline void weighted_nb(const float* w, const float* M, size_t ld, size_t e, size_t j0, size_t j1, bool skip_zero, float* out) {
  typename V::F acc[NB];
  for (size_t v = 0; v < NB; ++v) acc[v] = V::zero();
  for (size_t j = j0; j <= j1; ++j) {
    if (skip_zero && w[j] == 0) continue;
    const typename V::F x = V::set1(w[j]);
    const float* m = M + j * ld + e;
    for (size_t v = 0; v < NB; ++v) acc[v] = V::fma(x, V::load(m + v * V::W), acc[v]);
  }
  for (size_t v = 0; v < NB; ++v) V::store(out + e + v * V::W, acc[v]);
}

template <class V>
static void weighted_rows(const float* w, const float* M, size_t ld, size_t n, size_t j0, size_t j1, bool skip_zero, float* out) {
  size_t e = 0;
  for (; e + 4 * V::W <= n; e += 4 * V::W) weighted_nb<V, 4>(w, M, ld, e, j0, j1, skip_zero, out);
  for (; e + V::W <= n; e += V::W) weighted_nb<V, 1>(w, M, ld, e, j0, j1, skip_zero, out);
  for (; e < n; ++e) {
    float acc = 0;
    for (size_t j = j0; j <= j1; ++j)
      if (!(skip_zero && w[j] == 0)) acc += w[j] * M[j * ld + e];
    out[e] = acc;
  }
}

template <class V>
static Isa isa() {
  return {swiglu_fwd<V>, swiglu_bwd<V>, rmsnorm_fwd<V>, rmsnorm_bwd<V>, rmsnorm_dw<V>, dot_blocks<V>, weighted_rows<V>};
}

}  // namespace simd
}  // namespace train
}  // namespace moe

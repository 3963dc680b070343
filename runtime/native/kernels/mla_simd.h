// The MLA primitives over a SIMD width, included by mla_avx2.cc and mla_avx512.cc with their ISA flags.
// V: simd_lanes.h's V8 or V16 (F the register, W lanes; zero, load, set1, fma, hsum, max, hmax, exp used here).
// dots: 4 query rows x 1 key row per pass, fp32 accumulators across w, horizontal sum at the end.
// mix:  4 output rows x 2 registers of k per pass, keys streamed once per pass.
#pragma once
#include <cmath>
#include <cstddef>

namespace moe {
namespace mla {
namespace simd {

template <class V, int MR>
static inline void dots_rows(const float* Q, size_t ldq, const float* K, size_t ldk, size_t N, size_t w, float* S, size_t lds) {
  constexpr size_t W = V::W;
  const size_t wv = w - w % W;
  for (size_t j = 0; j < N; ++j) {
    const float* k = K + j * ldk;
    typename V::F acc[MR];
    for (int i = 0; i < MR; ++i) acc[i] = V::zero();
    for (size_t c = 0; c < wv; c += W) {
      typename V::F kv = V::load(k + c);
      for (int i = 0; i < MR; ++i) acc[i] = V::fma(V::load(Q + i * ldq + c), kv, acc[i]);
    }
    for (int i = 0; i < MR; ++i) {
      float s = V::hsum(acc[i]);
      for (size_t c = wv; c < w; ++c) s += Q[i * ldq + c] * k[c];
      S[i * lds + j] = s;
    }
  }
}

template <class V>
static void dots(const float* Q, size_t ldq, size_t m, const float* K, size_t ldk, size_t N, size_t w, float* S, size_t lds) {
  size_t r = 0;
  for (; r + 4 <= m; r += 4) dots_rows<V, 4>(Q + r * ldq, ldq, K, ldk, N, w, S + r * lds, lds);
  for (; r + 2 <= m; r += 2) dots_rows<V, 2>(Q + r * ldq, ldq, K, ldk, N, w, S + r * lds, lds);
  for (; r < m; ++r) dots_rows<V, 1>(Q + r * ldq, ldq, K, ldk, N, w, S + r * lds, lds);
}

template <class V, int MR, int NV>
static inline void mix_block(const float* P, size_t lds, const float* K, size_t ldk, size_t N, float* O, size_t ldo) {
  typename V::F acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  for (size_t j = 0; j < N; ++j) {
    typename V::F kv[NV];
    for (int v = 0; v < NV; ++v) kv[v] = V::load(K + j * ldk + v * V::W);
    for (int i = 0; i < MR; ++i) {
      typename V::F p = V::set1(P[i * lds + j]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(p, kv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) V::store(O + i * ldo + v * V::W, acc[i][v]);
}

template <class V, int MR>
static inline void mix_rows(const float* P, size_t lds, const float* K, size_t ldk, size_t N, size_t k, float* O, size_t ldo) {
  constexpr size_t W = V::W;
  size_t c = 0;
  for (; c + 2 * W <= k; c += 2 * W) mix_block<V, MR, 2>(P, lds, K + c, ldk, N, O + c, ldo);
  for (; c + W <= k; c += W) mix_block<V, MR, 1>(P, lds, K + c, ldk, N, O + c, ldo);
  for (; c < k; ++c)
    for (int i = 0; i < MR; ++i) {
      float s = 0;
      for (size_t j = 0; j < N; ++j) s += P[i * lds + j] * K[j * ldk + c];
      O[i * ldo + c] = s;
    }
}

template <class V>
static void mix(const float* P, size_t lds, size_t m, const float* K, size_t ldk, size_t N, size_t k, float* O, size_t ldo) {
  size_t r = 0;
  for (; r + 4 <= m; r += 4) mix_rows<V, 4>(P + r * lds, lds, K, ldk, N, k, O + r * ldo, ldo);
  for (; r < m; ++r) mix_rows<V, 1>(P + r * lds, lds, K, ldk, N, k, O + r * ldo, ldo);
}

template <class V, int MR, int NV>
static inline void dots_t_block(const float* Q, size_t ldq, const float* KT, size_t ldkt, size_t w, float* S, size_t lds) {
  typename V::F acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
  for (size_t c = 0; c < w; ++c) {
    typename V::F kv[NV];
    for (int v = 0; v < NV; ++v) kv[v] = V::load(KT + c * ldkt + v * V::W);
    for (int i = 0; i < MR; ++i) {
      typename V::F q = V::set1(Q[i * ldq + c]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(q, kv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) V::store(S + i * lds + v * V::W, acc[i][v]);
}

template <class V, int MR>
static inline void dots_t_rows(const float* Q, size_t ldq, const float* KT, size_t ldkt, size_t N, size_t w, float* S, size_t lds) {
  constexpr size_t W = V::W;
  const size_t Np = (N + W - 1) / W * W;
  size_t j = 0;
  for (; j + 2 * W <= Np; j += 2 * W) dots_t_block<V, MR, 2>(Q, ldq, KT + j, ldkt, w, S + j, lds);
  if (j < Np) dots_t_block<V, MR, 1>(Q, ldq, KT + j, ldkt, w, S + j, lds);
}

template <class V>
static void dots_t(const float* Q, size_t ldq, size_t m, const float* KT, size_t ldkt, size_t N, size_t w, float* S, size_t lds) {
  size_t r = 0;
  for (; r + 4 <= m; r += 4) dots_t_rows<V, 4>(Q + r * ldq, ldq, KT, ldkt, N, w, S + r * lds, lds);
  for (; r < m; ++r) dots_t_rows<V, 1>(Q + r * ldq, ldq, KT, ldkt, N, w, S + r * lds, lds);
}

// Max, then exp(x - max) in lanes (Cephes, ~2 ulp), the sum in float64 across the lanes' partial sums, then the scale.
template <class V>
static void softmax(float* p, size_t N) {
  constexpr size_t W = V::W;
  const size_t Nv = N - N % W;
  float mx = -INFINITY;
  if (Nv > 0) {
    typename V::F m = V::load(p);
    for (size_t j = W; j < Nv; j += W) m = V::max(m, V::load(p + j));
    mx = V::hmax(m);
  }
  for (size_t j = Nv; j < N; ++j) mx = std::max(mx, p[j]);
  const typename V::F mv = V::set1(mx);
  typename V::F sv = V::zero();
  for (size_t j = 0; j < Nv; j += W) {
    typename V::F e = V::exp(V::sub(V::load(p + j), mv));
    V::store(p + j, e);
    sv = V::add(sv, e);
  }
  double z = V::hsum(sv);
  for (size_t j = Nv; j < N; ++j) {
    p[j] = std::exp(p[j] - mx);
    z += p[j];
  }
  const float inv = static_cast<float>(1.0 / z);
  const typename V::F iv = V::set1(inv);
  for (size_t j = 0; j < Nv; j += W) V::store(p + j, V::mul(V::load(p + j), iv));
  for (size_t j = Nv; j < N; ++j) p[j] *= inv;
}

}  // namespace simd
}  // namespace mla
}  // namespace moe

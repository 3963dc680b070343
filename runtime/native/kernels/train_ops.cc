// Training ops (train_ops.h): one portable implementation each, threaded on the kernel pool where the rows are
// independent, inner loops contiguous so -O3 vectorises them.
#include "train_ops.h"

#include <cmath>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "cpu.h"
#include "quant.h"
#include "fp8.h"
#include "fp8_isa.h"
#include "train_ops_isa.h"

// Per-ISA paths: the hot loops are compiled for AVX-512, AVX2 and baseline x86-64 and the loader picks the best the CPU
// has (GCC function multiversioning); the TypeScript loops stay the reference the tests compare against.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TRAIN_ISA __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TRAIN_ISA
#endif

namespace moe {

namespace {
inline uint16_t bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? 0x7fc0u : r);
}
inline float bf16_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

namespace {
// adamw.ts's float32 arithmetic, bit for bit: every operation rounded to float32 in adamw.ts's order, nothing fused.
struct AdamF32 {
  float lr, b1, c1, b2, c2, eps, wd, bc1, bc2;
};

// The scalar reference (and the path without AVX-512): compiled for baseline x86-64, which has no FMA to contract into.
void adamw_ref(float* w, const float* g, uint16_t* m, uint16_t* v, size_t i0, size_t i1, const AdamF32& k) {
  for (size_t i = i0; i < i1; ++i) {
    const float gi = g[i];
    const float mi = k.b1 * bf16_f32(m[i]) + k.c1 * gi;
    const float vi = k.b2 * bf16_f32(v[i]) + k.c2 * gi * gi;
    const float wi = w[i];
    const float den = std::sqrt(vi / k.bc2) + k.eps;
    w[i] = wi - k.lr * ((mi / k.bc1) / den + k.wd * wi);
    m[i] = bf16_rne(mi);
    v[i] = bf16_rne(vi);
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
// 16 at a time. The explicit-rounding intrinsics (round to nearest, as the default) are opaque to the compiler, so it
// cannot contract a multiply and an add into an FMA whose single rounding would differ from adamw.ts.
// The rounding intrinsics pass an undefined pass-through vector under an all-ones mask, which GCC 12 flags.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define RN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))
// bf16 bits of x, round to nearest even, NaN to the quiet NaN (bf16_rne).
AVX512_TARGET inline __m256i narrow_bf16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i r = _mm512_srli_epi32(
      _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7fc0)));
}
AVX512_TARGET inline __m512 widen_bf16(const uint16_t* p, __mmask16 k16) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k16, p)), 16));
}
AVX512_TARGET void adamw_avx512(float* w, const float* g, uint16_t* m, uint16_t* v, size_t i0, size_t i1,
                                const AdamF32& k) {
  const __m512 lr = _mm512_set1_ps(k.lr), b1 = _mm512_set1_ps(k.b1), c1 = _mm512_set1_ps(k.c1), b2 = _mm512_set1_ps(k.b2),
               c2 = _mm512_set1_ps(k.c2), eps = _mm512_set1_ps(k.eps), wd = _mm512_set1_ps(k.wd),
               bc1 = _mm512_set1_ps(k.bc1), bc2 = _mm512_set1_ps(k.bc2);
  for (size_t i = i0; i < i1; i += 16) {
    const __mmask16 k16 = i1 - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (i1 - i)) - 1);
    const __m512 gi = _mm512_maskz_loadu_ps(k16, g + i), wi = _mm512_maskz_loadu_ps(k16, w + i);
    const __m512 mi = _mm512_add_round_ps(_mm512_mul_round_ps(b1, widen_bf16(m + i, k16), RN), _mm512_mul_round_ps(c1, gi, RN), RN);
    const __m512 vi = _mm512_add_round_ps(_mm512_mul_round_ps(b2, widen_bf16(v + i, k16), RN),
                                          _mm512_mul_round_ps(_mm512_mul_round_ps(c2, gi, RN), gi, RN), RN);
    const __m512 den = _mm512_add_round_ps(_mm512_sqrt_round_ps(_mm512_div_round_ps(vi, bc2, RN), RN), eps, RN);
    const __m512 upd = _mm512_add_round_ps(_mm512_div_round_ps(_mm512_div_round_ps(mi, bc1, RN), den, RN),
                                           _mm512_mul_round_ps(wd, wi, RN), RN);
    _mm512_mask_storeu_ps(w + i, k16, _mm512_sub_round_ps(wi, _mm512_mul_round_ps(lr, upd, RN), RN));
    _mm256_mask_storeu_epi16(m + i, k16, narrow_bf16(mi));
    _mm256_mask_storeu_epi16(v + i, k16, narrow_bf16(vi));
  }
}
#undef RN
#undef AVX512_TARGET
#pragma GCC diagnostic pop
#endif
}  // namespace

void train_adamw_bf16(float* w, const float* g, uint16_t* m, uint16_t* v, size_t n, double lr, double beta1,
                      double beta2, double eps, double wd, double bc1, double bc2) {
  const AdamF32 k{static_cast<float>(lr), static_cast<float>(beta1), static_cast<float>(1 - beta1), static_cast<float>(beta2),
                  static_cast<float>(1 - beta2), static_cast<float>(eps), static_cast<float>(wd), static_cast<float>(bc1),
                  static_cast<float>(bc2)};
  const KernelPath path = current_path();
  parallel_for(n, 1 << 15, [&](size_t i0, size_t i1) {
#if defined(__GNUC__) && defined(__x86_64__)
    if (path == KernelPath::Avx512 || path == KernelPath::Amx) return adamw_avx512(w, g, m, v, i0, i1, k);
#endif
    adamw_ref(w, g, m, v, i0, i1, k);
  });
}

TRAIN_ISA double train_sumsq(const float* x, size_t n, double init) {
  // Eight running sums, element i into lane i % 8 (a vector of doubles; one chain was latency-bound), then a fixed
  // tree; each square of a float is exact in double, so a fused multiply-add gives the same sums.
  double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) l[j] += static_cast<double>(x[i + j]) * x[i + j];
  for (size_t j = 0; i + j < n; ++j) l[j] += static_cast<double>(x[i + j]) * x[i + j];
  return init + (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
}

void train_scale(float* x, size_t n, double f) {
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(x[i] * f);
}

TRAIN_ISA void train_axpy(float* dst, const float* src, size_t n, float a) {
  for (size_t i = 0; i < n; ++i) dst[i] += src[i] * a;
}

namespace {
// The attention core's products run on the kernel path's row kernels (train_ops_isa.h): the running sums of a block
// of keys (or of output columns) stay in registers across the reduction instead of a load and a store per step.
constexpr size_t kJ = 16;
const train::Isa& isa();

TRAIN_ISA void attn_fwd_units(size_t u0, size_t u1, const float* q, const float* kv, const float* kpe, const int32_t* lo,
                              size_t S, size_t H, size_t dn, size_t dr, size_t dv, float scale, float* probs, float* o) {
  const size_t qk = dn + dr, qCols = H * qk, kvCols = H * (dn + dv), oCols = H * dv;
  // Kt: keys transposed [qk, Sp] (Sp: S rounded up to whole blocks; the padding stays zero) so a query's scores are
  // blocks of contiguous keys; Q pre-scaled (the same products as scaling inside the loop).
  const size_t Sp = ceil_div(S, kJ) * kJ;
  const train::Isa& I = isa();
  std::vector<float> Q(S * qk), Kt(qk * Sp, 0.0f), V(S * dv), sc(Sp);
  for (size_t u = u0; u < u1; ++u) {
    const size_t b = u / H, h = u % H, r0 = b * S;
    for (size_t i = 0; i < S; ++i) {
      const size_t t = r0 + i;
      const float* qi = q + t * qCols + h * qk;
      for (size_t e = 0; e < qk; ++e) Q[i * qk + e] = qi[e] * scale;
      const float* ki = kv + t * kvCols + h * (dn + dv);
      for (size_t e = 0; e < dn; ++e) Kt[e * Sp + i] = ki[e];
      for (size_t e = 0; e < dr; ++e) Kt[(dn + e) * Sp + i] = kpe[t * dr + e];
      std::memcpy(&V[i * dv], ki + dn, dv * 4);
    }
    float* P = probs + u * S * S;
    for (size_t i = 0; i < S; ++i) {
      const size_t j0 = lo ? static_cast<size_t>(lo[r0 + i]) : 0;
      I.dot_blocks(&Q[i * qk], Kt.data(), qk, Sp, j0 / kJ * kJ, i, sc.data());
      float* p = P + i * S;
      float mx = -INFINITY;
      for (size_t j = j0; j <= i; ++j) mx = sc[j] > mx ? sc[j] : mx;
      double z = 0;
      for (size_t j = j0; j <= i; ++j) {
        p[j] = std::exp(sc[j] - mx);
        z += p[j];
      }
      const float iz = static_cast<float>(1.0 / z);
      for (size_t j = j0; j <= i; ++j) p[j] *= iz;
      I.weighted_rows(p, V.data(), dv, dv, j0, i, false, o + (r0 + i) * oCols + h * dv);
    }
  }
}
}  // namespace

void train_attn_fwd(const float* q, const float* kv, const float* kpe, const int32_t* lo, size_t B, size_t S, size_t H,
                    size_t dn, size_t dr, size_t dv, float scale, float* probs, float* o) {
  parallel_for(B * H, 1, [&](size_t u0, size_t u1) { attn_fwd_units(u0, u1, q, kv, kpe, lo, S, H, dn, dr, dv, scale, probs, o); });
}

namespace {
TRAIN_ISA void attn_bwd_seqs(size_t b0, size_t b1, const float* q, const float* kv, const float* kpe, const float* probs,
                             const float* dO, const int32_t* lo, size_t S, size_t H, size_t dn, size_t dr, size_t dv,
                             float scale, float* dq, float* dkv, float* dkpe) {
  const size_t qk = dn + dr, qCols = H * qk, kvCols = H * (dn + dv), oCols = H * dv;
  const size_t Sp = ceil_div(S, kJ) * kJ;
  const train::Isa& I = isa();
  std::vector<float> Q(S * qk), K(S * qk), Vt(dv * Sp, 0.0f), G(S * dv), dK(S * qk), dV(S * dv), dp(Sp), ds(S);
  for (size_t b = b0; b < b1; ++b) {
    const size_t r0 = b * S;
    for (size_t i = 0; i < S; ++i) std::memset(dkpe + (r0 + i) * dr, 0, dr * 4);
    for (size_t h = 0; h < H; ++h) {
      for (size_t i = 0; i < S; ++i) {
        const size_t t = r0 + i;
        std::memcpy(&Q[i * qk], q + t * qCols + h * qk, qk * 4);
        const float* ki = kv + t * kvCols + h * (dn + dv);
        std::memcpy(&K[i * qk], ki, dn * 4);
        std::memcpy(&K[i * qk + dn], kpe + t * dr, dr * 4);
        for (size_t e = 0; e < dv; ++e) Vt[e * Sp + i] = ki[dn + e];
        std::memcpy(&G[i * dv], dO + t * oCols + h * dv, dv * 4);
      }
      std::fill(dK.begin(), dK.end(), 0.0f);
      std::fill(dV.begin(), dV.end(), 0.0f);
      const float* P = probs + (b * H + h) * S * S;
      for (size_t i = 0; i < S; ++i) {
        const size_t j0 = lo ? static_cast<size_t>(lo[r0 + i]) : 0;
        const float* p = P + i * S;
        const float* gi = &G[i * dv];
        I.dot_blocks(gi, Vt.data(), dv, Sp, j0 / kJ * kJ, i, dp.data());
        double sum = 0;
        for (size_t j = j0; j <= i; ++j) {
          const float pj = p[j];
          float* dvj = &dV[j * dv];
          for (size_t e = 0; e < dv; ++e) dvj[e] += pj * gi[e];
          sum += static_cast<double>(pj) * dp[j];
        }
        const float sm = static_cast<float>(sum);
        for (size_t j = j0; j <= i; ++j) ds[j] = p[j] * (dp[j] - sm) * scale;
        // dQ[i] sums over keys (in registers, straight into dq); dK[j] gathers from every query row.
        I.weighted_rows(ds.data(), K.data(), qk, qk, j0, i, true, dq + (r0 + i) * qCols + h * qk);
        const float* qi = &Q[i * qk];
        for (size_t j = j0; j <= i; ++j) {
          const float d = ds[j];
          if (d == 0) continue;
          float* dkj = &dK[j * qk];
          for (size_t e = 0; e < qk; ++e) dkj[e] += d * qi[e];
        }
      }
      for (size_t i = 0; i < S; ++i) {
        const size_t t = r0 + i;
        std::memcpy(dkv + t * kvCols + h * (dn + dv), &dK[i * qk], dn * 4);
        std::memcpy(dkv + t * kvCols + h * (dn + dv) + dn, &dV[i * dv], dv * 4);
        float* kp = dkpe + t * dr;
        for (size_t e = 0; e < dr; ++e) kp[e] += dK[i * qk + dn + e];
      }
    }
  }
}
}  // namespace

void train_attn_bwd(const float* q, const float* kv, const float* kpe, const float* probs, const float* dO,
                    const int32_t* lo, size_t B, size_t S, size_t H, size_t dn, size_t dr, size_t dv, float scale,
                    float* dq, float* dkv, float* dkpe) {
  // One sequence per task: its heads share dkpe rows.
  parallel_for(B, 1, [&](size_t b0, size_t b1) { attn_bwd_seqs(b0, b1, q, kv, kpe, probs, dO, lo, S, H, dn, dr, dv, scale, dq, dkv, dkpe); });
}

namespace {
// The scalar reference of the row kernels (the kernel path 'reference', and the oracle of the vector paths): float64
// sums, std::exp.
void swiglu_fwd_ref(const float* g, const float* u, size_t n, float* a) {
  for (size_t i = 0; i < n; ++i) a[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}
void swiglu_bwd_ref(const float* g, const float* u, const float* da, size_t n, float* dg, float* du) {
  for (size_t i = 0; i < n; ++i) {
    const float s = 1.0f / (1.0f + std::exp(-g[i]));
    du[i] = da[i] * g[i] * s;
    dg[i] = da[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
  }
}
void rmsnorm_fwd_ref(const float* x, const float* w, size_t T, size_t D, double eps, float* y, float* r) {
  for (size_t t = 0; t < T; ++t) {
    const float* xr = x + t * D;
    double ss = 0;
    for (size_t d = 0; d < D; ++d) ss += static_cast<double>(xr[d]) * xr[d];
    const float rt = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
    r[t] = rt;
    for (size_t d = 0; d < D; ++d) y[t * D + d] = xr[d] * rt * w[d];
  }
}
void rmsnorm_bwd_ref(const float* x, const float* w, const float* r, const float* dy, size_t T, size_t D, float* dx) {
  for (size_t t = 0; t < T; ++t) {
    const float* xr = x + t * D;
    const float* g = dy + t * D;
    double gx = 0;
    for (size_t d = 0; d < D; ++d) gx += static_cast<double>(g[d] * w[d]) * xr[d];
    const float rt = r[t];
    const float c = static_cast<float>(static_cast<double>(rt) * rt * gx / static_cast<double>(D));
    for (size_t d = 0; d < D; ++d) dx[t * D + d] = rt * (g[d] * w[d] - xr[d] * c);
  }
}
void rmsnorm_dw_ref(const float* x, const float* r, const float* dy, size_t T, size_t D, size_t d0, size_t d1, float* dw) {
  for (size_t t = 0; t < T; ++t)
    for (size_t d = d0; d < d1; ++d) dw[d] += dy[t * D + d] * x[t * D + d] * r[t];
}

void dot_blocks_ref(const float* a, const float* Mt, size_t n, size_t ld, size_t jb0, size_t j1, float* sc) {
  const size_t j_end = (j1 / kJ + 1) * kJ;
  for (size_t j = jb0; j < j_end; ++j) sc[j] = 0;
  for (size_t e = 0; e < n; ++e)
    for (size_t j = jb0; j < j_end; ++j) sc[j] += a[e] * Mt[e * ld + j];
}
void weighted_rows_ref(const float* w, const float* M, size_t ld, size_t n, size_t j0, size_t j1, bool skip_zero, float* out) {
  for (size_t e = 0; e < n; ++e) out[e] = 0;
  for (size_t j = j0; j <= j1; ++j) {
    if (skip_zero && w[j] == 0) continue;
    for (size_t e = 0; e < n; ++e) out[e] += w[j] * M[j * ld + e];
  }
}

const train::Isa& isa() {
  static const train::Isa ref{swiglu_fwd_ref, swiglu_bwd_ref, rmsnorm_fwd_ref, rmsnorm_bwd_ref, rmsnorm_dw_ref, dot_blocks_ref, weighted_rows_ref},
      avx2 = train::isa_avx2(), avx512 = train::isa_avx512();
  switch (current_path()) {
    case KernelPath::Reference: return ref;
    case KernelPath::Avx2: return avx2;
    default: return avx512;
  }
}
}  // namespace

void train_rmsnorm_fwd(const float* x, const float* w, size_t T, size_t D, double eps, float* y, float* r) {
  const train::Isa& I = isa();
  parallel_for(T, 32, [&](size_t t0, size_t t1) { I.rmsnorm_fwd(x + t0 * D, w, t1 - t0, D, eps, y + t0 * D, r + t0); });
}

void train_rmsnorm_bwd(const float* x, const float* w, const float* r, const float* dy, size_t T, size_t D, float* dx,
                       float* dw) {
  const train::Isa& I = isa();
  // dw sums over rows: split by columns; dx is row-local: split by rows.
  parallel_for(D, 64, [&](size_t d0, size_t d1) { I.rmsnorm_dw(x, r, dy, T, D, d0, d1, dw); });
  parallel_for(T, 32, [&](size_t t0, size_t t1) { I.rmsnorm_bwd(x + t0 * D, w, r + t0, dy + t0 * D, t1 - t0, D, dx + t0 * D); });
}

void train_swiglu_fwd(const float* g, const float* u, size_t n, float* a) {
  const train::Isa& I = isa();
  parallel_for(n, 1 << 14, [&](size_t i0, size_t i1) { I.swiglu_fwd(g + i0, u + i0, i1 - i0, a + i0); });
}

void train_swiglu_bwd(const float* g, const float* u, const float* da, size_t n, float* dg, float* du) {
  const train::Isa& I = isa();
  parallel_for(n, 1 << 14, [&](size_t i0, size_t i1) { I.swiglu_bwd(g + i0, u + i0, da + i0, i1 - i0, dg + i0, du + i0); });
}

void train_rope(float* x, const int32_t* pos, size_t T, size_t cols, size_t col0, size_t heads, size_t stride,
                size_t dr, const double* inv, double amp, bool inverse) {
  // rope.ts's arithmetic in float64 (cos and sin per position and pair, the rotation, one rounding to float32 per
  // value). Training rows repeat positions (t mod S): when there are fewer positions than rows, each position's cos
  // and sin are computed once (the same values), not once per row.
  const size_t half = dr / 2;
  int32_t pmin = 0, pmax = -1;
  for (size_t t = 0; t < T; ++t) {
    pmin = std::min(pmin, pos[t]);
    pmax = std::max(pmax, pos[t]);
  }
  const bool table = pmin >= 0 && static_cast<size_t>(pmax) + 1 < T;
  std::vector<double> cs(table ? (static_cast<size_t>(pmax) + 1) * half : half), sn(cs.size());
  auto angles = [&](double p, double* c, double* s) {
    for (size_t k = 0; k < half; ++k) {
      const double ang = p * inv[k];
      c[k] = amp * std::cos(ang);
      s[k] = amp * (inverse ? -std::sin(ang) : std::sin(ang));
    }
  };
  if (table)
    for (int32_t p = 0; p <= pmax; ++p) angles(p, &cs[p * half], &sn[p * half]);
  auto rotate = [&](size_t t, const double* c, const double* s) {
    for (size_t k = 0; k < half; ++k)
      for (size_t h = 0; h < heads; ++h) {
        float* v = x + t * cols + col0 + h * stride + 2 * k;
        const double a = v[0], b = v[1];
        v[0] = static_cast<float>(a * c[k] - b * s[k]);
        v[1] = static_cast<float>(a * s[k] + b * c[k]);
      }
  };
  if (table) {
    parallel_for(T, 64, [&](size_t t0, size_t t1) {
      for (size_t t = t0; t < t1; ++t) rotate(t, &cs[pos[t] * half], &sn[pos[t] * half]);
    });
    return;
  }
  parallel_for(T, 64, [&](size_t t0, size_t t1) {
    std::vector<double> c(half), s(half);
    for (size_t t = t0; t < t1; ++t) {
      angles(pos[t], c.data(), s.data());
      rotate(t, c.data(), s.data());
    }
  });
}

void train_embed_fwd(const float* E, const int32_t* ids, size_t n, size_t d, float* y) {
  for (size_t i = 0; i < n; ++i) std::memcpy(y + i * d, E + static_cast<size_t>(ids[i]) * d, d * sizeof(float));
}

TRAIN_ISA void train_embed_bwd(const float* dy, const int32_t* ids, size_t n, size_t d, float* dE) {
  // In row order (a token may repeat): the reference's order of additions.
  for (size_t i = 0; i < n; ++i) {
    float* e = dE + static_cast<size_t>(ids[i]) * d;
    const float* g = dy + i * d;
    for (size_t j = 0; j < d; ++j) e[j] += g[j];
  }
}

double train_cross_entropy(const float* logits, const int32_t* targets, size_t T, size_t V, double weight,
                           float* dlogits, long long* bad_row) {
  *bad_row = -1;
  for (size_t t = 0; t < T; ++t) {
    if (targets[t] < 0 || static_cast<size_t>(targets[t]) >= V) {
      *bad_row = static_cast<long long>(t);
      return NAN;
    }
  }
  std::vector<double> rowLoss(T);
  const float g = static_cast<float>(weight / static_cast<double>(T));
  parallel_for(T, 16, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* l = logits + t * V;
      float* d = dlogits + t * V;
      float mx = -INFINITY;
      for (size_t v = 0; v < V; ++v) mx = l[v] > mx ? l[v] : mx;
      double z = 0;
      for (size_t v = 0; v < V; ++v) {
        d[v] = std::exp(l[v] - mx);
        z += d[v];
      }
      const float f = static_cast<float>(weight / static_cast<double>(T) / z);
      for (size_t v = 0; v < V; ++v) d[v] *= f;
      d[targets[t]] -= g;
      rowLoss[t] = mx + std::log(z) - l[targets[t]];
    }
  });
  double loss = 0;
  for (size_t t = 0; t < T; ++t) loss += rowLoss[t];
  return loss / static_cast<double>(T);
}

namespace {
// (c * x)^T into out [cols, rows], in cache-sized tiles.
constexpr size_t kTB = 32;
TRAIN_ISA void transpose_cols(const float* x, size_t rows, size_t cols, float c, float* out, size_t b0, size_t b1) {
  for (size_t cb = b0 * kTB; cb < std::min(cols, b1 * kTB); cb += kTB) {
    const size_t ce = std::min(cols, cb + kTB);
    for (size_t rb = 0; rb < rows; rb += kTB) {
      const size_t re = std::min(rows, rb + kTB);
      for (size_t cc = cb; cc < ce; ++cc)
        for (size_t r = rb; r < re; ++r) out[cc * rows + r] = x[r * cols + cc] * c;
    }
  }
}
void transpose_scaled(const float* x, size_t rows, size_t cols, float c, float* out) {
  parallel_for(ceil_div(cols, kTB), 4, [&](size_t b0, size_t b1) { transpose_cols(x, rows, cols, c, out, b0, b1); });
}
}  // namespace

TRAIN_ISA float train_amax(const float* x, size_t n) {
  float m = 0;
  bool nan = false;
  for (size_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    m = a > m ? a : m;
    nan |= a != a;
  }
  return nan ? NAN : m;
}

namespace {
TRAIN_ISA void scale_copy(const float* x, size_t n, float c, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * c;
}
}  // namespace

long long train_quant_act_scaled(const float* x, size_t rows, size_t cols, float c, uint8_t* q, float* scales) {
  if (c == 1.0f) return quant_act(x, rows, cols, false, q, scales);
  std::unique_ptr<float[]> t(new float[rows * cols]);
  scale_copy(x, rows * cols, c, t.get());
  return quant_act(t.get(), rows, cols, false, q, scales);
}

void train_transpose(const float* x, size_t rows, size_t cols, float* out) { transpose_scaled(x, rows, cols, 1.0f, out); }

long long train_quant_act_cols(const float* x, size_t rows, size_t cols, float c, uint8_t* q, float* scales) {
  const size_t RB = ceil_div(rows, kQuantTile);
  std::atomic<bool> bad{false};
  parallel_for(RB, 1, [&](size_t b0, size_t b1) {
    std::vector<float> t(kQuantTile * cols), s(cols);
    for (size_t rb = b0; rb < b1 && !bad; ++rb) {
      const size_t r0 = rb * kQuantTile, n = std::min<size_t>(kQuantTile, rows - r0);
      scale_copy(x + r0 * cols, n * cols, c, t.data());  // the same products as transpose_scaled's
      // quant.cc's column tile (fp8_linear.cc's wgrad operand uses the same one).
      if (!quant_col_tile(t.data(), n, cols, q + r0 * cols, s.data())) {
        bad = true;
        break;
      }
      for (size_t col = 0; col < cols; ++col) scales[col * RB + rb] = s[col];
    }
  });
  if (!bad) return -1;
  for (size_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(x[i] * c)) return static_cast<long long>(i);
  return -1;
}

namespace {
// The router's float32 GEMMs (out = 16 experts at the tiny preset): their inner loops on the per-ISA clones.
TRAIN_ISA void sgemm_nt_rows(const float* x, const float* Wt, size_t T, size_t in, size_t out, float* y, size_t b0,
                             size_t b1) {
  for (size_t t0 = b0 * 4; t0 < std::min(T, b1 * 4); t0 += 4) {
    const size_t n = std::min<size_t>(4, T - t0);
    for (size_t k = 0; k < n; ++k) std::memset(y + (t0 + k) * out, 0, out * 4);
    for (size_t i = 0; i < in; ++i) {
      const float* w = &Wt[i * out];
      for (size_t k = 0; k < n; ++k) {
        const float a = x[(t0 + k) * in + i];
        float* yr = y + (t0 + k) * out;
        for (size_t o = 0; o < out; ++o) yr[o] += a * w[o];
      }
    }
  }
}

TRAIN_ISA void sgemm_nn_rows(const float* dy, const float* W, size_t out, size_t in, float* dx, size_t t0, size_t t1) {
  for (size_t t = t0; t < t1; ++t) {
    float* d = dx + t * in;
    for (size_t o = 0; o < out; ++o) {
      const float g = dy[t * out + o];
      if (g == 0) continue;
      const float* w = W + o * in;
      for (size_t i = 0; i < in; ++i) d[i] += g * w[i];
    }
  }
}

TRAIN_ISA void sgemm_tn_rows(const float* dy, const float* x, size_t T, size_t out, size_t in, float* dW, size_t o0,
                             size_t o1) {
  for (size_t o = o0; o < o1; ++o) {
    float* d = dW + o * in;
    for (size_t t = 0; t < T; ++t) {
      const float g = dy[t * out + o];
      if (g == 0) continue;
      const float* xr = x + t * in;
      for (size_t i = 0; i < in; ++i) d[i] += g * xr[i];
    }
  }
}
}  // namespace

void train_sgemm_nt(const float* x, const float* W, size_t T, size_t in, size_t out, float* y) {
  // y[t,:] = sum_i x[t,i] * W^T[i,:], four rows at a time so each W^T row is read once per four.
  std::vector<float> Wt(in * out);
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; ++i) Wt[i * out + o] = W[o * in + i];
  parallel_for(ceil_div(T, 4), 4, [&](size_t b0, size_t b1) { sgemm_nt_rows(x, Wt.data(), T, in, out, y, b0, b1); });
}

void train_sgemm_nn_acc(const float* dy, const float* W, size_t T, size_t out, size_t in, float* dx) {
  parallel_for(T, 4, [&](size_t t0, size_t t1) { sgemm_nn_rows(dy, W, out, in, dx, t0, t1); });
}

void train_sgemm_tn_acc(const float* dy, const float* x, size_t T, size_t out, size_t in, float* dW) {
  parallel_for(out, 4, [&](size_t o0, size_t o1) { sgemm_tn_rows(dy, x, T, out, in, dW, o0, o1); });
}

}  // namespace moe

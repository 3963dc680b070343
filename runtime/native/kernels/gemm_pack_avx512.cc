// AVX-512 packing of FP8 (E4M3) codes into the kPairs layout (gemm.h) that the vdpbf16ps and AVX2 micro-kernels read:
// 32 codes of a row become 32 exact bf16 values through two 64-entry word permutes (vpermi2w), i.e. 16 (k, k+1)
// pairs, and 16 rows of pairs are transposed in registers so each K pair's row of the panel is one store. The
// scalar packer in gemm.cc (the LUT per element) gives the same bits; the GEMM tests compare the results per path.
#include <immintrin.h>

#include <cstring>

#include "fp8.h"
#include "gemm.h"

namespace moe {
namespace gemm {

namespace {
struct Tables {
  __m512i t[4];  // bf16 of magnitude codes 0..127, 32 per register
};

const Tables& tables() {
  static const Tables tb = [] {
    Tables x;
    const uint16_t* lut = fp8_to_bf16_table(Fp8Format::E4M3);
    for (int i = 0; i < 4; ++i) x.t[i] = _mm512_loadu_si512(lut + 32 * i);
    return x;
  }();
  return tb;
}

// 32 codes -> 32 bf16 (as 16 little-endian (k, k+1) pairs). Magnitudes through the table, the sign bit moved up.
inline __m512i decode32(__m256i codes, const Tables& tb) {
  const __m512i x = _mm512_cvtepu8_epi16(codes);
  const __m512i lo = _mm512_permutex2var_epi16(tb.t[0], x, tb.t[1]);  // index bits 0..5
  const __m512i hi = _mm512_permutex2var_epi16(tb.t[2], x, tb.t[3]);
  const __mmask32 upper = _mm512_test_epi16_mask(x, _mm512_set1_epi16(0x40));
  const __m512i mag = _mm512_mask_blend_epi16(upper, lo, hi);
  return _mm512_or_si512(mag, _mm512_slli_epi16(_mm512_and_si512(x, _mm512_set1_epi16(0x80)), 8));
}

// In-register transpose of 16x16 32-bit lanes: r[i] lane j -> r[j] lane i.
inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[i] now holds, per 128-bit lane L, rows 4*(i/4)..+3 of column 4L + (i%4) ... regroup the 128-bit lanes.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xDD);
    r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xDD);
  }
}
}  // namespace

namespace {
// 32 floats (masked load, zeros elsewhere) -> 32 bf16 in order (16 (k, k+1) pairs): round to nearest even, NaN -> the
// canonical quiet NaN with its sign, as fp8.h f32_to_bf16.
inline __m256i bf16x16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i rn = _mm512_srli_epi32(
      _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
  const __m512i qn = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x8000)), _mm512_set1_epi32(0x7FC0));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rn, qn));
}
inline __m512i bf16x32(const float* p, __mmask32 m) {
  const __m256i lo = bf16x16(_mm512_maskz_loadu_ps(static_cast<__mmask16>(m), p));
  const __m256i hi = bf16x16(_mm512_maskz_loadu_ps(static_cast<__mmask16>(m >> 16), p + 16));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __mmask32 first(size_t n) { return n >= 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1u << n) - 1); }

// One kPairs panel from rows of a source: row32(i, k0, mask) gives 32 bf16 of row i from k0 (masked).
template <class Row32>
void pack_rows(size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out, Row32 row32) {
  for (size_t r0 = 0; r0 < w; r0 += 16) {
    const size_t rows = r0 < nr ? std::min<size_t>(16, nr - r0) : 0, cols = std::min<size_t>(16, w - r0);
    const __mmask16 store = static_cast<__mmask16>((1u << cols) - 1);
    for (size_t k0 = 0; k0 < Kp; k0 += 32) {
      const __mmask32 load = k0 >= K ? 0 : first(K - k0);
      __m512i r[16];
      for (size_t i = 0; i < 16; ++i) r[i] = i < rows ? row32(r0 + i, k0, load) : _mm512_setzero_si512();
      transpose16(r);
      uint32_t* o = out + (k0 / 2) * w + r0;
      for (size_t j = 0; j < 16; ++j) _mm512_mask_storeu_epi32(o + j * w, store, r[j]);
    }
  }
}

// One kPairs panel from a transposed source: row32(k, mask) gives 32 bf16 of source row k (panel rows 0..31, masked).
template <class Row32>
void pack_cols(size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out, Row32 row32) {
  const __mmask32 load = first(nr);
  const __mmask16 st0 = w >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << w) - 1);
  const __mmask16 st1 = w >= 32 ? 0xFFFF : w <= 16 ? 0 : static_cast<__mmask16>((1u << (w - 16)) - 1);
  // unpacklo/hi pair rows k and k+1 per 128-bit lane (columns 8L..8L+3 and 8L+4..8L+7); these put columns in order.
  const __m512i idx0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), idx1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  const __m512i zero = _mm512_setzero_si512();
  for (size_t kp = 0; kp < Kp / 2; ++kp) {
    const size_t k = 2 * kp;
    const __m512i e = k < K ? row32(k, load) : zero;
    const __m512i o = k + 1 < K ? row32(k + 1, load) : zero;
    const __m512i lo = _mm512_unpacklo_epi16(e, o), hi = _mm512_unpackhi_epi16(e, o);
    _mm512_mask_storeu_epi32(out + kp * w, st0, _mm512_permutex2var_epi64(lo, idx0, hi));
    if (st1) _mm512_mask_storeu_epi32(out + kp * w + 16, st1, _mm512_permutex2var_epi64(lo, idx1, hi));
  }
}
}  // namespace

void pack_pairs_fp8_avx512(const uint8_t* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out) {
  const Tables& tb = tables();
  pack_rows(K, nr, w, Kp, out, [&](size_t i, size_t k0, __mmask32 m) { return decode32(_mm256_maskz_loadu_epi8(m, src + i * ld + k0), tb); });
}

void pack_pairs_t_fp8_avx512(const uint8_t* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out) {
  const Tables& tb = tables();
  pack_cols(K, nr, w, Kp, out, [&](size_t k, __mmask32 m) { return decode32(_mm256_maskz_loadu_epi8(m, src + k * ld), tb); });
}

void pack_pairs_f32_avx512(const float* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out) {
  pack_rows(K, nr, w, Kp, out, [&](size_t i, size_t k0, __mmask32 m) { return bf16x32(src + i * ld + k0, m); });
}

void pack_pairs_t_f32_avx512(const float* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out) {
  pack_cols(K, nr, w, Kp, out, [&](size_t k, __mmask32 m) { return bf16x32(src + k * ld, m); });
}

}  // namespace gemm
}  // namespace moe

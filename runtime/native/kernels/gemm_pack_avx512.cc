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

void pack_pairs_fp8_avx512(const uint8_t* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out) {
  const Tables& tb = tables();
  for (size_t r0 = 0; r0 < w; r0 += 16) {
    const size_t rows = r0 < nr ? std::min<size_t>(16, nr - r0) : 0, cols = std::min<size_t>(16, w - r0);
    const __mmask16 store = static_cast<__mmask16>((1u << cols) - 1);
    for (size_t k0 = 0; k0 < Kp; k0 += 32) {
      const __mmask32 load = k0 >= K ? 0 : K - k0 >= 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1u << (K - k0)) - 1);
      __m512i r[16];
      for (size_t i = 0; i < 16; ++i)
        r[i] = i < rows ? decode32(_mm256_maskz_loadu_epi8(load, src + (r0 + i) * ld + k0), tb) : _mm512_setzero_si512();
      transpose16(r);
      uint32_t* o = out + (k0 / 2) * w + r0;
      for (size_t j = 0; j < 16; ++j) _mm512_mask_storeu_epi32(o + j * w, store, r[j]);
    }
  }
}

void pack_pairs_t_fp8_avx512(const uint8_t* src, size_t ld, size_t K, size_t nr, size_t w, size_t Kp, uint32_t* out) {
  const Tables& tb = tables();
  const __mmask32 load = nr >= 32 ? 0xFFFFFFFFu : static_cast<__mmask32>((1u << nr) - 1);
  const __mmask16 st0 = w >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << w) - 1);
  const __mmask16 st1 = w >= 32 ? 0xFFFF : w <= 16 ? 0 : static_cast<__mmask16>((1u << (w - 16)) - 1);
  // unpacklo/hi pair rows k and k+1 per 128-bit lane (columns 8L..8L+3 and 8L+4..8L+7); these put columns in order.
  const __m512i idx0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), idx1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  const __m512i zero = _mm512_setzero_si512();
  for (size_t kp = 0; kp < Kp / 2; ++kp) {
    const size_t k = 2 * kp;
    const __m512i e = k < K ? decode32(_mm256_maskz_loadu_epi8(load, src + k * ld), tb) : zero;
    const __m512i o = k + 1 < K ? decode32(_mm256_maskz_loadu_epi8(load, src + (k + 1) * ld), tb) : zero;
    const __m512i lo = _mm512_unpacklo_epi16(e, o), hi = _mm512_unpackhi_epi16(e, o);
    _mm512_mask_storeu_epi32(out + kp * w, st0, _mm512_permutex2var_epi64(lo, idx0, hi));
    if (st1) _mm512_mask_storeu_epi32(out + kp * w + 16, st1, _mm512_permutex2var_epi64(lo, idx1, hi));
  }
}

}  // namespace gemm
}  // namespace moe

// FP8 codec loops with explicit AVX-512 intrinsics (16 lanes), scalar tails via fp8.h. Same results
// as fp8_encode_bits / the decode tables, which the tests check bit for bit against ml_dtypes.
#include <immintrin.h>

#include "fp8_isa.h"
#include "fp8_simd.h"

namespace moe {

namespace {

inline __m512i set1(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }

// 16 float32 bit patterns -> 16 fp8 codes (round-to-nearest-even), mirroring fp8_encode_bits.
template <int MANT, int BIAS, bool HAS_INF>
inline __m128i encode16(__m512i u, bool sat) {
  constexpr uint32_t max_code = HAS_INF ? 0x7B : 0x7E;
  constexpr int e_min = 1 - BIAS, shift = 23 - MANT;
  constexpr uint32_t magic = static_cast<uint32_t>(127 + e_min - MANT + 23) << 23;
  const __m512i sign = _mm512_and_si512(_mm512_srli_epi32(u, 24), set1(0x80));
  const __m512i a = _mm512_and_si512(u, set1(0x7FFFFFFF));
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(a, shift), set1(1));
  __m512i rn = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(a, set1((1u << (shift - 1)) - 1)), lsb), shift);
  rn = _mm512_sub_epi32(rn, set1(static_cast<uint32_t>(127 - BIAS) << MANT));
  __m512 sum = _mm512_add_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(set1(magic)));
  __m512i rs = _mm512_sub_epi32(_mm512_castps_si512(sum), set1(magic));
  __mmask16 normal = _mm512_cmpge_epu32_mask(a, set1(static_cast<uint32_t>(127 + e_min) << 23));
  __m512i code = _mm512_mask_blend_epi32(normal, rs, rn);
  code = _mm512_mask_blend_epi32(_mm512_cmpge_epu32_mask(a, set1(0x7F800000)), code, set1(0xFFFF));
  code = _mm512_mask_blend_epi32(_mm512_cmpgt_epu32_mask(code, set1(max_code)), code,
                                 set1(sat ? max_code : (HAS_INF ? 0x7C : 0x7F)));
  code = _mm512_mask_blend_epi32(_mm512_cmpgt_epu32_mask(a, set1(0x7F800000)), code, set1(HAS_INF ? 0x7E : 0x7F));
  return _mm512_cvtepi32_epi8(_mm512_or_si512(code, sign));
}

template <int MANT, int BIAS, bool HAS_INF>
void encode_f32(const float* x, uint8_t* out, size_t n, bool sat) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     encode16<MANT, BIAS, HAS_INF>(_mm512_loadu_si512(x + i), sat));
  for (; i < n; ++i) out[i] = fp8_encode_bits<MANT, BIAS, HAS_INF>(x[i], sat);
}

template <int MANT, int BIAS, bool HAS_INF>
void encode_bf16(const uint16_t* x, uint8_t* out, size_t n, bool sat) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i u = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))), 16);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), encode16<MANT, BIAS, HAS_INF>(u, sat));
  }
  for (; i < n; ++i) out[i] = fp8_encode_bits<MANT, BIAS, HAS_INF>(bf16_to_f32(x[i]), sat);
}

// 16 E4M3 codes -> float32 (exact): normals by re-biasing the exponent, subnormals m * 2^-9.
inline __m512 decode16_e4m3(__m128i c8) {
  __m512i c = _mm512_cvtepu8_epi32(c8);
  __m512i mag = _mm512_and_si512(c, set1(0x7F));
  __m512i sign = _mm512_slli_epi32(_mm512_and_si512(c, set1(0x80)), 24);
  __m512 normal = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_slli_epi32(mag, 20), set1(120u << 23)));
  __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(mag), _mm512_set1_ps(1.0f / 512.0f));
  __m512 v = _mm512_mask_blend_ps(_mm512_cmpge_epu32_mask(mag, set1(8)), sub, normal);
  v = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(mag, set1(0x7F)), v, _mm512_castsi512_ps(set1(0x7FC00000)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), sign));
}

}  // namespace

void fp8_encode_f32_avx512(const float* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  if (f == Fp8Format::E4M3) encode_f32<3, 7, false>(x, out, n, sat);
  else encode_f32<2, 15, true>(x, out, n, sat);
}

void fp8_encode_bf16_avx512(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  if (f == Fp8Format::E4M3) encode_bf16<3, 7, false>(x, out, n, sat);
  else encode_bf16<2, 15, true>(x, out, n, sat);
}

uint32_t amax_bits_avx512(const float* x, size_t n) { return simd::amax_bits_loop(x, n); }

void scale_encode_e4m3_avx512(const float* x, float s, uint8_t* out, size_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_div_ps(_mm512_loadu_ps(x + i), vs);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), encode16<3, 7, false>(_mm512_castps_si512(v), true));
  }
  for (; i < n; ++i) out[i] = fp8_encode_bits<3, 7, false>(x[i] / s, true);
}

void scale_encode_cols_e4m3_avx512(const float* x, const float* s, uint8_t* out, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_div_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(s + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), encode16<3, 7, false>(_mm512_castps_si512(v), true));
  }
  for (; i < n; ++i) out[i] = fp8_encode_bits<3, 7, false>(x[i] / s[i], true);
}

void dequant_e4m3_avx512(const uint8_t* q, float s, float* out, size_t n) {
  const __m512 vs = _mm512_set1_ps(s);
  const float* t = fp8_to_f32_table(Fp8Format::E4M3);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_mul_ps(decode16_e4m3(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i))), vs));
  for (; i < n; ++i) out[i] = t[q[i]] * s;
}

}  // namespace moe

// FP8 encode loops compiled with the avx2 flags (see binding.gyp); the compiler vectorises fp8_simd.h.
#include <immintrin.h>

#include "fp8_isa.h"
#include "fp8_simd.h"

namespace moe {

void fp8_encode_f32_avx2(const float* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  if (f == Fp8Format::E4M3) simd::encode_f32_loop<3, 7, false>(x, out, n, sat);
  else simd::encode_f32_loop<2, 15, true>(x, out, n, sat);
}

void fp8_encode_bf16_avx2(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  if (f == Fp8Format::E4M3) simd::encode_bf16_loop<3, 7, false>(x, out, n, sat);
  else simd::encode_bf16_loop<2, 15, true>(x, out, n, sat);
}

}  // namespace moe

namespace moe {
uint32_t amax_bits_avx2(const float* x, size_t n) { return simd::amax_bits_loop(x, n); }
// e4m3(x / s) saturating, 8 lanes at a time: encode_branchless<3, 7, false>(bits, true) in intrinsics (GCC does not
// vectorise the scalar form), the tail by the scalar loop; same bits.
void scale_encode_e4m3_avx2(const float* x, float s, uint8_t* out, size_t n) {
  const __m256 sv = _mm256_set1_ps(s);
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), one = _mm256_set1_epi32(1), half = _mm256_set1_epi32(0x7FFFF),
                bias = _mm256_set1_epi32(960), min_normal = _mm256_set1_epi32((121 << 23) - 1),
                inf = _mm256_set1_epi32(0x7F800000), inf_m1 = _mm256_set1_epi32(0x7F800000 - 1), big = _mm256_set1_epi32(0xFFFF),
                maxc = _mm256_set1_epi32(0x7E), nan = _mm256_set1_epi32(0x7F), sign_mask = _mm256_set1_epi32(0x80);
  const __m256 magic = _mm256_castsi256_ps(_mm256_set1_epi32(141 << 23));
  const __m256i bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                         0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_castps_si256(_mm256_div_ps(_mm256_loadu_ps(x + i), sv));
    const __m256i sign = _mm256_and_si256(_mm256_srli_epi32(u, 24), sign_mask);
    const __m256i a = _mm256_and_si256(u, abs_mask);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(a, 20), one);
    const __m256i rn = _mm256_sub_epi32(_mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(a, half), odd), 20), bias);
    const __m256i rs = _mm256_sub_epi32(_mm256_castps_si256(_mm256_add_ps(_mm256_castsi256_ps(a), magic)), _mm256_castps_si256(magic));
    __m256i code = _mm256_blendv_epi8(rs, rn, _mm256_cmpgt_epi32(a, min_normal));
    code = _mm256_blendv_epi8(code, big, _mm256_cmpgt_epi32(a, inf_m1));
    code = _mm256_min_epu32(code, maxc);
    code = _mm256_blendv_epi8(code, nan, _mm256_cmpgt_epi32(a, inf));
    const __m256i b = _mm256_shuffle_epi8(_mm256_or_si256(sign, code), bytes);
    const __m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_unpacklo_epi32(lo, hi));
  }
  simd::scale_encode_e4m3_loop(x + i, s, out + i, n - i);
}
}  // namespace moe

// MLA primitives on AVX2 + FMA (8 fp32 lanes).
#include <immintrin.h>

#include "mla.h"
#include "mla_simd.h"
#include "simd_exp.h"

namespace moe {
namespace mla {
namespace {
struct V8 {
  using R = __m256;
  static constexpr size_t W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R r) { _mm256_storeu_ps(p, r); }
  static R set1(float x) { return _mm256_set1_ps(x); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R exp(R x) { return simd_exp::exp8(x); }
  static float hmax(R r) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(R r) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
}  // namespace

Isa isa_avx2() { return {simd::dots<V8>, simd::mix<V8>, simd::dots_t<V8>, simd::softmax<V8>}; }

}  // namespace mla
}  // namespace moe

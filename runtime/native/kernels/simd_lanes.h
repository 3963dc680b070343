// The float32 (and float64) lane traits that the per-ISA kernels are templated on (serve_ops_simd.h, train_ops_simd.h,
// mla_simd.h): one definition per ISA, so serving, training and MLA run the same intrinsics. Include only from a file
// built with the ISA's flags (binding.gyp: moe_avx2, moe_avx512).
#pragma once
#include <immintrin.h>

#include <cstddef>

#include "simd_exp.h"

namespace moe {
namespace simd_lanes {
// Internal linkage: an AVX-512 unit also sees V8 (its flags imply AVX2), and a shared inline copy compiled there could
// be the one the linker keeps for the AVX2 unit.
namespace {

#ifdef __AVX2__
struct V8 {
  using F = __m256;
  using D = __m256d;
  static constexpr size_t W = 8, DW = 4;
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F zero() { return _mm256_setzero_ps(); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F neg(F a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static F exp(F x) { return simd_exp::exp8(x); }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static float hmax(F v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
  }
  static D dzero() { return _mm256_setzero_pd(); }
  static D dset1(double x) { return _mm256_set1_pd(x); }
  static D dload(const double* p) { return _mm256_loadu_pd(p); }
  static D dfma(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
  static void dstore_f32(float* p, D v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
};
#endif

#ifdef __AVX512F__
// GCC 12's AVX-512 intrinsics (exp16's shifts and conversions, the reductions, _mm512_cvtpd_ps) pass an
// undefined vector under an all-ones mask, which it flags once inlined; it checks these pragmas along the inline chain.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
struct V16 {
  using F = __m512;
  using D = __m512d;
  static constexpr size_t W = 16, DW = 8;
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F zero() { return _mm512_setzero_ps(); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F neg(F a) { return _mm512_sub_ps(_mm512_setzero_ps(), a); }
  static F exp(F x) { return simd_exp::exp16(x); }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }
  static D dzero() { return _mm512_setzero_pd(); }
  static D dset1(double x) { return _mm512_set1_pd(x); }
  static D dload(const double* p) { return _mm512_loadu_pd(p); }
  static D dfma(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  static void dstore_f32(float* p, D v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
};
#pragma GCC diagnostic pop
#endif

}  // namespace
}  // namespace simd_lanes
}  // namespace moe

// Serving row kernels on AVX2 + FMA.
#include <immintrin.h>

#include "serve_ops.h"
#include "serve_ops_simd.h"

namespace moe {
namespace serve {
namespace {
struct V8 {
  using F = __m256;
  using D = __m256d;
  static constexpr size_t W = 8, DW = 4;
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F neg(F a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  // Cephes expf: 2^n * p(r), x = n ln2 + r, |r| <= ln2/2.
  static F exp(F x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    F n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    F p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
  static D dzero() { return _mm256_setzero_pd(); }
  static D dset1(double x) { return _mm256_set1_pd(x); }
  static D dload(const double* p) { return _mm256_loadu_pd(p); }
  static D dfma(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
  static void dstore_f32(float* p, D v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
};
}  // namespace

Isa isa_avx2() { return {simd::silu_mul<V8>, simd::matmul_f64<V8>}; }

}  // namespace serve
}  // namespace moe

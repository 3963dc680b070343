// Serving row kernels on AVX-512F.
#include <immintrin.h>

#include "serve_ops.h"
#include "serve_ops_simd.h"

namespace moe {
namespace serve {
namespace {
struct V16 {
  using F = __m512;
  using D = __m512d;
  static constexpr size_t W = 16, DW = 8;
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F neg(F a) { return _mm512_sub_ps(_mm512_setzero_ps(), a); }
  // Cephes expf, as the AVX2 path.
  static F exp(F x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    F n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    F p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
  }
  static D dzero() { return _mm512_setzero_pd(); }
  static D dset1(double x) { return _mm512_set1_pd(x); }
  static D dload(const double* p) { return _mm512_loadu_pd(p); }
  static D dfma(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  static void dstore_f32(float* p, D v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
};
}  // namespace

Isa isa_avx512() { return {simd::silu_mul<V16>, simd::matmul_f64<V16>}; }

}  // namespace serve
}  // namespace moe

// Serving row kernels on AVX-512F.
#include <immintrin.h>

#include "serve_ops.h"
#include "serve_ops_simd.h"
#include "simd_exp.h"

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
  static F exp(F x) { return simd_exp::exp16(x); }
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

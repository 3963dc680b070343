// Serving row kernels on AVX2 + FMA.
#include <immintrin.h>

#include "serve_ops.h"
#include "serve_ops_simd.h"
#include "simd_exp.h"

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
  static F exp(F x) { return simd_exp::exp8(x); }
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

// Training row kernels on AVX-512F.
#include <immintrin.h>

#include "train_ops_isa.h"
#include "train_ops_simd.h"
#include "simd_exp.h"

// _mm512_reduce_add_ps passes an undefined vector under an all-ones mask, which GCC 12 flags.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace moe {
namespace train {
namespace {
struct V16 {
  using F = __m512;
  static constexpr size_t W = 16;
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F zero() { return _mm512_setzero_ps(); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F neg(F a) { return _mm512_sub_ps(_mm512_setzero_ps(), a); }
  static F exp(F x) { return simd_exp::exp16(x); }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }
};
}  // namespace

Isa isa_avx512() { return simd::isa<V16>(); }

}  // namespace train
}  // namespace moe

#pragma GCC diagnostic pop

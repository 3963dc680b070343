// MLA primitives on AVX-512F (16 fp32 lanes).
#include <immintrin.h>

#include "mla.h"
#include "mla_simd.h"
#include "simd_exp.h"

namespace moe {
namespace mla {
namespace {
struct V16 {
  using R = __m512;
  static constexpr size_t W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R r) { _mm512_storeu_ps(p, r); }
  static R set1(float x) { return _mm512_set1_ps(x); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R exp(R x) { return simd_exp::exp16(x); }
  static float hmax(R r) { return _mm512_reduce_max_ps(r); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(R r) { return _mm512_reduce_add_ps(r); }
};
}  // namespace

Isa isa_avx512() { return {simd::dots<V16>, simd::mix<V16>, simd::dots_t<V16>, simd::softmax<V16>}; }

}  // namespace mla
}  // namespace moe

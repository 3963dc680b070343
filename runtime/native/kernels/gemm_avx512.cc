// AVX-512 BF16 micro-kernel: 12 rows x 32 columns, vdpbf16ps on decoded (exact) FP8 values.
#include <immintrin.h>

#include <array>
#include <utility>

#include "gemm.h"

namespace moe {
namespace gemm {

namespace {
constexpr int kMR = 12;

template <int MR>
void kernel(const uint16_t* A, const uint16_t* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
            const float* b_scale, float* C, size_t ldc, int nvalid) {
  const __mmask16 m0 = nvalid >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << nvalid) - 1);
  const __mmask16 m1 = nvalid >= 32 ? 0xFFFF : nvalid <= 16 ? 0 : static_cast<__mmask16>((1u << (nvalid - 16)) - 1);
  for (size_t kb = 0; kb < kb_count; ++kb) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const uint16_t* a = A + kb * kKB * kMR;
    const uint16_t* b = Bp + kb * kKB * kNR;
    for (int kk = 0; kk < kKB / 2; ++kk) {
      __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + kk * 2 * kNR);
      __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + kk * 2 * kNR + 32);
      for (int i = 0; i < MR; ++i) {
        int32_t pair;
        __builtin_memcpy(&pair, a + kk * 2 * kMR + 2 * i, 4);
        __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
      }
    }
    // Promotion: scale the fp32 slice sums and add them into the fp32 output accumulator.
    for (int i = 0; i < MR; ++i) {
      __m512 f = _mm512_set1_ps(a_scale[i * as_stride + kb] * b_scale[kb]);
      float* c = C + i * ldc;
      __m512 c0 = _mm512_maskz_loadu_ps(m0, c), c1 = _mm512_maskz_loadu_ps(m1, c + 16);
      _mm512_mask_storeu_ps(c, m0, _mm512_fmadd_ps(acc[i][0], f, c0));
      _mm512_mask_storeu_ps(c + 16, m1, _mm512_fmadd_ps(acc[i][1], f, c1));
    }
  }
}

using Fn = void (*)(const uint16_t*, const uint16_t*, size_t, const float*, size_t, const float*, float*, size_t, int);
template <int... I>
constexpr auto make_table(std::integer_sequence<int, I...>) {
  return std::array<Fn, sizeof...(I)>{&kernel<I + 1>...};
}

void micro(int mr, const uint16_t* A, const uint16_t* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
           const float* b_scale, float* C, size_t ldc, int nvalid) {
  static constexpr auto table = make_table(std::make_integer_sequence<int, kMR>{});
  table[mr - 1](A, Bp, kb_count, a_scale, as_stride, b_scale, C, ldc, nvalid);
}
}  // namespace

Isa isa_avx512() { return {kMR, ALayout::kPairs, micro, nullptr, nullptr}; }

}  // namespace gemm
}  // namespace moe

// Peak probe (peak.h): 24 independent zmm FMA chains.
#include "peak.h"

namespace moe {
namespace peak {
double fma_avx512_loop(long iters) {
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    __asm__ volatile("" : "+v"(x), "+v"(y));
  }
  float sink = 0;
  for (int i = 0; i < 24; ++i) sink += _mm512_reduce_add_ps(acc[i]);
  __asm__ volatile("" : : "x"(sink));
  return static_cast<double>(iters) * 24 * 32;
}
}  // namespace peak
}  // namespace moe

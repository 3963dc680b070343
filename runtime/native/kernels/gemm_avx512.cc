// AVX-512F micro-kernel: 12 rows x 32 columns of fp32 FMAs on operands decoded to float32 at
// packing (exact for FP8 and bf16 inputs). On this Sapphire Rapids an fp32 FMA micro-kernel ran ~2x
// the vdpbf16ps one (which issues at half the FMA rate here); AMX covers the BF16 tile case.
#include <immintrin.h>

#include <array>
#include <utility>

#include "gemm.h"

namespace moe {
namespace gemm {

namespace {
constexpr int kMR = 12;

template <int MR>
void kernel(const float* A, const float* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
            const float* b_scale, float* C, size_t ldc, int nvalid) {
  const __mmask16 m0 = nvalid >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << nvalid) - 1);
  const __mmask16 m1 = nvalid >= 32 ? 0xFFFF : nvalid <= 16 ? 0 : static_cast<__mmask16>((1u << (nvalid - 16)) - 1);
  for (size_t kb = 0; kb < kb_count; ++kb) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const float* a = A + kb * kKB * kMR;
    const float* b = Bp + kb * kKB * kNR;
    for (int k = 0; k < kKB; ++k, a += kMR, b += kNR) {
      __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
      for (int i = 0; i < MR; ++i) {
        __m512 av = _mm512_set1_ps(a[i]);
        acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
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

using Fn = void (*)(const float*, const float*, size_t, const float*, size_t, const float*, float*, size_t, int);
template <int... I>
constexpr auto make_table(std::integer_sequence<int, I...>) {
  return std::array<Fn, sizeof...(I)>{&kernel<I + 1>...};
}

void micro(int mr, const void* A, const void* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
           const float* b_scale, float* C, size_t ldc, int nvalid) {
  static constexpr auto table = make_table(std::make_integer_sequence<int, kMR>{});
  table[mr - 1](static_cast<const float*>(A), static_cast<const float*>(Bp), kb_count, a_scale, as_stride, b_scale, C,
                ldc, nvalid);
}
}  // namespace

Isa isa_avx512() { return {kMR, ALayout::kF32, micro, nullptr, nullptr}; }

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

// AVX-512 BF16 micro-kernel: 12 rows x 32 columns with vdpbf16ps on bf16 pairs (the kPairs layout), two K values per
// instruction. FP8 (E4M3) codes are exact in bf16 and a product of two bf16 values is exact in fp32, so each
// instruction adds two exact products to the fp32 slice sum (odd k, then even k, DAZ/FTZ: denormal bf16 inputs
// count as zero). On Zen 4 vdpbf16ps issues at the fp32 FMA's rate with twice its multiply-adds, so this kernel
// runs about 2x the fp32 one there; on Sapphire Rapids it is half-rate (gemm.cc picks it by CPU).
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
            const float* b_scale, float* C, size_t ldc, int nvalid, int last_pairs) {
  const __mmask16 m0 = nvalid >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << nvalid) - 1);
  const __mmask16 m1 = nvalid >= 32 ? 0xFFFF : nvalid <= 16 ? 0 : static_cast<__mmask16>((1u << (nvalid - 16)) - 1);
  for (size_t kb = 0; kb < kb_count; ++kb) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const uint16_t* a = A + kb * kKB * kMR;
    const uint16_t* b = Bp + kb * kKB * kNR;
    const int pairs = kb + 1 == kb_count ? last_pairs : kKB / 2;
    for (int kk = 0; kk < pairs; ++kk, a += 2 * kMR, b += 2 * kNR) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
      for (int i = 0; i < MR; ++i) {
        uint32_t pair;
        __builtin_memcpy(&pair, a + 2 * i, 4);
        const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
      }
    }
    for (int i = 0; i < MR; ++i) {
      const __m512 f = _mm512_set1_ps(a_scale[i * as_stride + kb] * b_scale[kb]);
      float* c = C + i * ldc;
      const __m512 c0 = _mm512_maskz_loadu_ps(m0, c), c1 = _mm512_maskz_loadu_ps(m1, c + 16);
      _mm512_mask_storeu_ps(c, m0, _mm512_fmadd_ps(acc[i][0], f, c0));
      _mm512_mask_storeu_ps(c + 16, m1, _mm512_fmadd_ps(acc[i][1], f, c1));
    }
  }
}

using Fn = void (*)(const uint16_t*, const uint16_t*, size_t, const float*, size_t, const float*, float*, size_t, int, int);
template <int... I>
constexpr auto make_table(std::integer_sequence<int, I...>) {
  return std::array<Fn, sizeof...(I)>{&kernel<I + 1>...};
}

void run(int mr, const void* A, const void* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
         const float* b_scale, float* C, size_t ldc, int nvalid, int last_pairs) {
  static constexpr auto table = make_table(std::make_integer_sequence<int, kMR>{});
  table[mr - 1](static_cast<const uint16_t*>(A), static_cast<const uint16_t*>(Bp), kb_count, a_scale, as_stride, b_scale,
                C, ldc, nvalid, last_pairs);
}
void micro(int mr, const void* A, const void* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
           const float* b_scale, float* C, size_t ldc, int nvalid) {
  run(mr, A, Bp, kb_count, a_scale, as_stride, b_scale, C, ldc, nvalid, kKB / 2);
}
// The last slice holds only its k_last valid K (the rest is zero padding, whose products add nothing): a wgrad over
// an expert's 130 rows runs 65 pairs in its second slice, not 64 + 64.
void micro_tail(int mr, const void* A, const void* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
                const float* b_scale, float* C, size_t ldc, int nvalid, size_t k_last) {
  run(mr, A, Bp, kb_count, a_scale, as_stride, b_scale, C, ldc, nvalid, static_cast<int>((k_last + 1) / 2));
}
}  // namespace

Isa isa_avx512_bf16() {
  Isa isa{kMR, ALayout::kPairs, micro, nullptr, nullptr};
  isa.micro_tail = micro_tail;
  return isa;
}

}  // namespace gemm
}  // namespace moe

// AVX2 + FMA micro-kernels: 3 rows x 32 columns of fp32 FMAs on operands decoded at packing (default), and the
// older 4 x 32 on bf16 pairs widened to fp32 by shifts (16 accumulators + the widened B: it spills on 16 ymm registers).
#include <immintrin.h>

#include <array>
#include <cstdlib>
#include <string>
#include <utility>

#include "gemm.h"

namespace moe {
namespace gemm {

namespace {
constexpr int kMR = 4;

template <int MR>
void kernel(const uint16_t* A, const uint16_t* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
            const float* b_scale, float* C, size_t ldc, int nvalid) {
  const __m256i hi_mask = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  alignas(32) float tmp[kNR];
  for (size_t kb = 0; kb < kb_count; ++kb) {
    __m256 acc[MR][4];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_ps();
    const uint16_t* a = A + kb * kKB * kMR;
    const uint16_t* b = Bp + kb * kKB * kNR;
    for (int kk = 0; kk < kKB / 2; ++kk) {
      __m256 be[4], bo[4];
      for (int j = 0; j < 4; ++j) {
        __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kk * 2 * kNR + j * 16));
        be[j] = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
        bo[j] = _mm256_castsi256_ps(_mm256_and_si256(v, hi_mask));
      }
      for (int i = 0; i < MR; ++i) {
        uint32_t pair;
        __builtin_memcpy(&pair, a + kk * 2 * kMR + 2 * i, 4);
        __m256 ae = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(pair << 16)));
        __m256 ao = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(pair & 0xFFFF0000u)));
        for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_fmadd_ps(ao, bo[j], _mm256_fmadd_ps(ae, be[j], acc[i][j]));
      }
    }
    for (int i = 0; i < MR; ++i) {
      float f = a_scale[i * as_stride + kb] * b_scale[kb];
      for (int j = 0; j < 4; ++j) _mm256_store_ps(tmp + 8 * j, acc[i][j]);
      float* c = C + i * ldc;
      for (int n = 0; n < nvalid; ++n) c[n] = __builtin_fmaf(tmp[n], f, c[n]);
    }
  }
}

using Fn = void (*)(const uint16_t*, const uint16_t*, size_t, const float*, size_t, const float*, float*, size_t, int);
template <int... I>
constexpr auto make_table(std::integer_sequence<int, I...>) {
  return std::array<Fn, sizeof...(I)>{&kernel<I + 1>...};
}

void micro(int mr, const void* Av, const void* Bv, size_t kb_count, const float* a_scale, size_t as_stride,
           const float* b_scale, float* C, size_t ldc, int nvalid) {
  const uint16_t* A = static_cast<const uint16_t*>(Av);
  const uint16_t* Bp = static_cast<const uint16_t*>(Bv);
  static constexpr auto table = make_table(std::make_integer_sequence<int, kMR>{});
  table[mr - 1](A, Bp, kb_count, a_scale, as_stride, b_scale, C, ldc, nvalid);
}
// fp32 FMA on operands decoded once at packing (the AVX-512 path's kF32 layout): 3 rows x 32 columns = 12 ymm
// accumulators + 3 broadcasts + 1 B register, no spills. About twice the bf16-pairs kernel's speed on Zen 3.
constexpr int kMRF = 3;

template <int MR>
void kernel_f32(const float* A, const float* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
                const float* b_scale, float* C, size_t ldc, int nvalid) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (size_t kb = 0; kb < kb_count; ++kb) {
    __m256 acc[MR][4];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_ps();
    const float* a = A + kb * kKB * kMRF;
    const float* b = Bp + kb * kKB * kNR;
    for (int k = 0; k < kKB; ++k, a += kMRF, b += kNR) {
      __m256 av[MR];
      for (int i = 0; i < MR; ++i) av[i] = _mm256_broadcast_ss(a + i);
      for (int j = 0; j < 4; ++j) {
        __m256 bv = _mm256_loadu_ps(b + 8 * j);
        for (int i = 0; i < MR; ++i) acc[i][j] = _mm256_fmadd_ps(av[i], bv, acc[i][j]);
      }
    }
    // Promotion: scale the fp32 slice sums and add them into the fp32 output accumulator (masked past nvalid:
    // a store through a temporary made GCC keep every accumulator in memory inside the k loop).
    for (int i = 0; i < MR; ++i) {
      const __m256 f = _mm256_set1_ps(a_scale[i * as_stride + kb] * b_scale[kb]);
      float* c = C + i * ldc;
      for (int j = 0; j < 4; ++j) {
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(nvalid - 8 * j), lane);
        _mm256_maskstore_ps(c + 8 * j, m, _mm256_fmadd_ps(acc[i][j], f, _mm256_maskload_ps(c + 8 * j, m)));
      }
    }
  }
}

using FnF = void (*)(const float*, const float*, size_t, const float*, size_t, const float*, float*, size_t, int);
template <int... I>
constexpr auto make_table_f32(std::integer_sequence<int, I...>) {
  return std::array<FnF, sizeof...(I)>{&kernel_f32<I + 1>...};
}

void micro_f32(int mr, const void* A, const void* Bp, size_t kb_count, const float* a_scale, size_t as_stride,
               const float* b_scale, float* C, size_t ldc, int nvalid) {
  static constexpr auto table = make_table_f32(std::make_integer_sequence<int, kMRF>{});
  table[mr - 1](static_cast<const float*>(A), static_cast<const float*>(Bp), kb_count, a_scale, as_stride, b_scale, C,
                ldc, nvalid);
}

}  // namespace

Isa isa_avx2() {
  // MOE_AVX2_GEMM=pairs keeps the older bf16-pairs kernel (benchmarks of the two).
  static const bool pairs = [] { const char* e = std::getenv("MOE_AVX2_GEMM"); return e && std::string(e) == "pairs"; }();
  if (pairs) return {kMR, ALayout::kPairs, micro, nullptr, nullptr};
  return {kMRF, ALayout::kF32, micro_f32, nullptr, nullptr};
}

}  // namespace gemm
}  // namespace moe

// Peak probe (peak.h): 12 independent ymm FMA chains.
#include "peak.h"

namespace moe {
namespace peak {
double fma_avx2_loop(long iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    __asm__ volatile("" : "+x"(x), "+x"(y));
  }
  alignas(32) float out[8];
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  _mm256_store_ps(out, s);
  __asm__ volatile("" : : "x"(out[0]));
  return static_cast<double>(iters) * 12 * 16;
}
}  // namespace peak
}  // namespace moe

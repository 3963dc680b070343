// AMX-BF16 micro-kernel: a 32x32 output block as four 16x16 fp32 tiles; per 128-wide K slice the
// tiles accumulate 4 x TDPBF16PS (32 K each), then are stored and promoted (scaled and added into
// the fp32 output) with AVX-512. Decoded FP8 values are exact in bf16, so each product is exact.
#include <immintrin.h>

#include <cstring>

#include "cpu.h"
#include "gemm.h"

namespace moe {
namespace gemm {

namespace {
constexpr int kMR = 32;

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

void begin() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;  // 16 fp32 (C) or 32 bf16 (A, B) per row
  }
  // GCC 12 drops the stores above without this barrier (it does not see ldtilecfg read them).
  __asm__ volatile("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

void end() { _tile_release(); }

void micro(int mr, const void* Av, const void* Bv, size_t kb_count, const float* a_scale, size_t as_stride,
           const float* b_scale, float* C, size_t ldc, int nvalid) {
  const uint16_t* A = static_cast<const uint16_t*>(Av);
  const uint16_t* Bp = static_cast<const uint16_t*>(Bv);
  const __mmask16 m0 = nvalid >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << nvalid) - 1);
  const __mmask16 m1 = nvalid >= 32 ? 0xFFFF : nvalid <= 16 ? 0 : static_cast<__mmask16>((1u << (nvalid - 16)) - 1);
  alignas(64) float tile[4][16 * 16];
  const bool two_rows = mr > 16;
  for (size_t kb = 0; kb < kb_count; ++kb) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int c = 0; c < kKB / 32; ++c) {
      size_t chunk = kb * (kKB / 32) + c;
      const uint16_t* a = A + chunk * kMR * 32;   // rows 0-15 then rows 16-31, 64 B per row
      const uint16_t* b = Bp + chunk * 16 * 2 * kNR;  // 16 k-pairs x 32 cols x 2, 128 B per k-pair
      _tile_loadd(4, a, 64);
      _tile_loadd(6, b, 128);
      _tile_loadd(7, b + 32, 128);
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      if (two_rows) {
        _tile_loadd(5, a + 16 * 32, 64);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
    }
    _tile_stored(0, tile[0], 64);
    _tile_stored(1, tile[1], 64);
    if (two_rows) {
      _tile_stored(2, tile[2], 64);
      _tile_stored(3, tile[3], 64);
    }
    for (int i = 0; i < mr; ++i) {
      const float* t0 = tile[i < 16 ? 0 : 2] + (i & 15) * 16;
      const float* t1 = tile[i < 16 ? 1 : 3] + (i & 15) * 16;
      __m512 f = _mm512_set1_ps(a_scale[i * as_stride + kb] * b_scale[kb]);
      float* cr = C + i * ldc;
      _mm512_mask_storeu_ps(cr, m0, _mm512_fmadd_ps(_mm512_load_ps(t0), f, _mm512_maskz_loadu_ps(m0, cr)));
      _mm512_mask_storeu_ps(cr + 16, m1, _mm512_fmadd_ps(_mm512_load_ps(t1), f, _mm512_maskz_loadu_ps(m1, cr + 16)));
    }
  }
}
}  // namespace

// 1024 K x 16 panels of bf16 B = 1 MiB in L2; measured best of {2..16} x {4..32} on Sapphire Rapids.
Isa isa_amx() { return {kMR, ALayout::kTiles, micro, begin, end, 8, 16}; }

}  // namespace gemm
}  // namespace moe

// Peak probe (peak.h): four independent 16x16 accumulators, K = 32 per instruction.
#include "peak.h"

namespace moe {
namespace peak {
double amx_bf16_loop(long iters) {
  gemm::isa_amx().thread_begin();
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_zero(4);
  _tile_zero(5);
  _tile_zero(6);
  _tile_zero(7);
  for (long i = 0; i < iters; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  gemm::isa_amx().thread_end();
  return static_cast<double>(iters) * 4 * 16 * 16 * 32 * 2;
}
}  // namespace peak
}  // namespace moe

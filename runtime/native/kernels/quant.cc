#include "quant.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "cpu.h"
#include "fp8.h"
#include "fp8_isa.h"

namespace moe {

float quant_scale(float amax, bool pow2) {
  float s = std::max(amax, kAmaxFloor) / kE4M3Max;
  if (pow2) {
    uint32_t u = f32_bits(s);
    if (u & 0x007FFFFFu) u = (u & 0xFF800000u) + 0x00800000u;  // s is normal and positive here
    s = bits_f32(u);
  }
  return s;
}

namespace {

uint32_t amax_bits(const float* x, size_t n, KernelPath p) {
  if (p >= KernelPath::Avx512) return amax_bits_avx512(x, n);
  if (p == KernelPath::Avx2) return amax_bits_avx2(x, n);
  uint32_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    float a = std::fabs(x[i]);
    if (!std::isfinite(a)) return 0x7F800000u;
    m = std::max(m, f32_bits(a));
  }
  return m;
}

void scale_encode(const float* x, float s, uint8_t* q, size_t n, KernelPath p) {
  if (p >= KernelPath::Avx512) return scale_encode_e4m3_avx512(x, s, q, n);
  if (p == KernelPath::Avx2) return scale_encode_e4m3_avx2(x, s, q, n);
  for (size_t i = 0; i < n; ++i) q[i] = ref_f32_to_fp8(x[i] / s, Fp8Format::E4M3, true);
}

long long first_nonfinite(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return static_cast<long long>(i);
  return -1;
}

}  // namespace

bool quant_act_rows(const float* x, size_t K, size_t r0, size_t r1, bool pow2, uint8_t* q, float* scales) {
  const size_t KB = ceil_div(K, kQuantTile);
  const KernelPath p = current_path();
  for (size_t r = r0; r < r1; ++r)
    for (size_t kb = 0; kb < KB; ++kb) {
      size_t k0 = kb * kQuantTile, len = std::min<size_t>(kQuantTile, K - k0);
      const float* src = x + r * K + k0;
      uint32_t am = amax_bits(src, len, p);
      if (am >= 0x7F800000u) return false;
      float s = quant_scale(bits_f32(am), pow2);
      scales[r * KB + kb] = s;
      scale_encode(src, s, q + r * K + k0, len, p);
    }
  return true;
}

long long quant_act(const float* x, size_t M, size_t K, bool pow2, uint8_t* q, float* scales) {
  std::atomic<bool> bad{false};
  parallel_for(M, 16, [&](size_t r0, size_t r1) {
    if (!quant_act_rows(x, K, r0, r1, pow2, q, scales)) bad = true;
  });
  return bad ? first_nonfinite(x, M * K) : -1;
}

bool quant_weight_block(const float* w, size_t N, size_t K, size_t b, bool pow2, uint8_t* q, float* scale_inv) {
  const size_t KB = ceil_div(K, kQuantTile);
  const KernelPath p = current_path();
  size_t nb = b / KB, kb = b % KB;
  size_t n0 = nb * kQuantTile, n1 = std::min(N, n0 + kQuantTile);
  size_t k0 = kb * kQuantTile, len = std::min<size_t>(kQuantTile, K - k0);
  uint32_t am = 0;
  for (size_t n = n0; n < n1; ++n) am = std::max(am, amax_bits(w + n * K + k0, len, p));
  if (am >= 0x7F800000u) return false;
  float s = quant_scale(bits_f32(am), pow2);
  scale_inv[b] = s;
  for (size_t n = n0; n < n1; ++n) scale_encode(w + n * K + k0, s, q + n * K + k0, len, p);
  return true;
}

long long quant_weight(const float* w, size_t N, size_t K, bool pow2, uint8_t* q, float* scale_inv) {
  const size_t NB = ceil_div(N, kQuantTile), KB = ceil_div(K, kQuantTile);
  std::atomic<bool> bad{false};
  parallel_for(NB * KB, 1, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1 && !bad; ++b)
      if (!quant_weight_block(w, N, K, b, pow2, q, scale_inv)) bad = true;
  });
  return bad ? first_nonfinite(w, N * K) : -1;
}

long long quant_weight_stacked(const float* const* w, size_t E, size_t N, size_t K, bool pow2, uint8_t* q,
                               float* scale_inv) {
  const size_t NB = ceil_div(N, kQuantTile), KB = ceil_div(K, kQuantTile), nb = NB * KB;
  std::atomic<bool> bad{false};
  parallel_for(E * nb, 1, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1 && !bad; ++b) {
      const size_t e = b / nb;
      if (!quant_weight_block(w[e], N, K, b % nb, pow2, q + e * N * K, scale_inv + e * nb)) bad = true;
    }
  });
  if (!bad) return -1;
  for (size_t e = 0; e < E; ++e) {
    long long at = first_nonfinite(w[e], N * K);
    if (at >= 0) return static_cast<long long>(e * N * K) + at;
  }
  return -1;
}

namespace {
void encode_cols(const float* x, const float* s, uint8_t* q, size_t n, KernelPath p) {
  if (p >= KernelPath::Avx512) return scale_encode_cols_e4m3_avx512(x, s, q, n);
  if (p == KernelPath::Avx2)
    for (size_t i = 0; i < n; ++i) q[i] = fp8_encode_bits<3, 7, false>(x[i] / s[i], true);
  else
    for (size_t i = 0; i < n; ++i) q[i] = ref_f32_to_fp8(x[i] / s[i], Fp8Format::E4M3, true);
}
}  // namespace

namespace {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define QUANT_ISA __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QUANT_ISA
#endif
// Column maxima of |x| [rows, cols] as float bits (integer order = value order; inf/NaN top every finite value).
QUANT_ISA void col_amax_bits(const float* __restrict x, size_t rows, size_t cols, uint32_t* __restrict am) {
  for (size_t j = 0; j < cols; ++j) am[j] = 0;
  for (size_t r = 0; r < rows; ++r) {
    const uint32_t* u = reinterpret_cast<const uint32_t*>(x + r * cols);
    for (size_t j = 0; j < cols; ++j) {
      const uint32_t a = u[j] & 0x7FFFFFFFu;
      am[j] = a > am[j] ? a : am[j];
    }
  }
}
}  // namespace

bool quant_col_tile(const float* x, size_t rows, size_t cols, uint8_t* q, float* s) {
  const KernelPath p = current_path();
  thread_local std::vector<uint32_t> am_buf;
  am_buf.resize(cols);
  uint32_t* am = am_buf.data();
  col_amax_bits(x, rows, cols, am);
  for (size_t j = 0; j < cols; ++j) {
    if (am[j] >= 0x7F800000u) return false;
    s[j] = quant_scale(bits_f32(am[j]), false);
  }
  for (size_t r = 0; r < rows; ++r) encode_cols(x + r * cols, s, q + r * cols, cols, p);
  return true;
}

namespace {
// out = decode(q) * s over one tile row; the reference decodes each code from its definition.
void dequant_run(const uint8_t* q, float s, float* out, size_t n, KernelPath p) {
  if (p >= KernelPath::Avx512) return dequant_e4m3_avx512(q, s, out, n);
  if (p == KernelPath::Reference) {
    for (size_t i = 0; i < n; ++i) out[i] = ref_fp8_to_f32(q[i], Fp8Format::E4M3) * s;
    return;
  }
  const float* t = fp8_to_f32_table(Fp8Format::E4M3);
  for (size_t i = 0; i < n; ++i) out[i] = t[q[i]] * s;
}
}  // namespace

void dequant_act(const uint8_t* q, const float* scales, size_t M, size_t K, float* out) {
  const size_t KB = ceil_div(K, kQuantTile);
  const KernelPath p = current_path();
  parallel_for(M, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t kb = 0; kb < KB; ++kb) {
        size_t k0 = kb * kQuantTile, len = std::min<size_t>(kQuantTile, K - k0);
        dequant_run(q + r * K + k0, scales[r * KB + kb], out + r * K + k0, len, p);
      }
  });
}

void dequant_weight(const uint8_t* q, const float* scale_inv, size_t N, size_t K, float* out) {
  const size_t KB = ceil_div(K, kQuantTile);
  const KernelPath p = current_path();
  parallel_for(N, 16, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t kb = 0; kb < KB; ++kb) {
        size_t k0 = kb * kQuantTile, len = std::min<size_t>(kQuantTile, K - k0);
        dequant_run(q + r * K + k0, scale_inv[(r / kQuantTile) * KB + kb], out + r * K + k0, len, p);
      }
  });
}

}  // namespace moe

// Branch-free FP8 encode loops for the AVX2 unit (fp8_avx2.cc), which the compiler vectorises with
// that unit's flags; the AVX-512 unit uses intrinsics. Same results as fp8_encode_bits in fp8.h,
// which tests check bit for bit.
#pragma once
#include <cstring>

#include "fp8.h"

namespace moe {
namespace simd {

template <int MANT, int BIAS, bool HAS_INF>
static inline uint8_t encode_branchless(uint32_t u, bool saturate) {
  constexpr uint32_t max_code = HAS_INF ? 0x7B : 0x7E;
  constexpr int e_min = 1 - BIAS;
  constexpr int shift = 23 - MANT;
  constexpr uint32_t magic_bits = static_cast<uint32_t>(127 + e_min - MANT + 23) << 23;
  uint32_t sign = (u >> 24) & 0x80u;
  uint32_t a = u & 0x7FFFFFFFu;
  uint32_t rn = ((a + ((1u << (shift - 1)) - 1) + ((a >> shift) & 1u)) >> shift) -
                (static_cast<uint32_t>(127 - BIAS) << MANT);
  float af, mf;
  std::memcpy(&af, &a, 4);
  uint32_t mb = magic_bits;
  std::memcpy(&mf, &mb, 4);
  float sum = af + mf;
  uint32_t sb;
  std::memcpy(&sb, &sum, 4);
  uint32_t rs = sb - magic_bits;
  uint32_t code = a >= (static_cast<uint32_t>(127 + e_min) << 23) ? rn : rs;
  code = a >= 0x7F800000u ? 0xFFFFu : code;
  uint32_t over = saturate ? max_code : (HAS_INF ? 0x7Cu : 0x7Fu);
  code = code > max_code ? over : code;
  code = a > 0x7F800000u ? (HAS_INF ? 0x7Eu : 0x7Fu) : code;
  return static_cast<uint8_t>(sign | code);
}

template <int MANT, int BIAS, bool HAS_INF>
static inline void encode_f32_loop(const float* __restrict x, uint8_t* __restrict out, size_t n, bool sat) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(x);
  for (size_t i = 0; i < n; ++i) out[i] = encode_branchless<MANT, BIAS, HAS_INF>(u[i], sat);
}

template <int MANT, int BIAS, bool HAS_INF>
static inline void encode_bf16_loop(const uint16_t* __restrict x, uint8_t* __restrict out, size_t n, bool sat) {
  for (size_t i = 0; i < n; ++i)
    out[i] = encode_branchless<MANT, BIAS, HAS_INF>(static_cast<uint32_t>(x[i]) << 16, sat);
}

}  // namespace simd
}  // namespace moe

namespace moe {
namespace simd {

// Max of |x| as float bits (the integer order of non-negative floats is their value order);
// a result >= 0x7F800000 means the block holds inf or NaN.
static inline uint32_t amax_bits_loop(const float* __restrict x, size_t n) {
  const uint32_t* u = reinterpret_cast<const uint32_t*>(x);
  uint32_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t a = u[i] & 0x7FFFFFFFu;
    m = a > m ? a : m;
  }
  return m;
}

// out[i] = e4m3(x[i] / s), saturating (identical to non-saturating for |x| <= amax).
static inline void scale_encode_e4m3_loop(const float* __restrict x, float s, uint8_t* __restrict out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fp8_encode_bits<3, 7, false>(x[i] / s, true);
}

}  // namespace simd
}  // namespace moe

// FP8 (OCP E4M3 "fn" and E5M2) and bfloat16 conversions. No V8/nan here.
//
// E4M3: bias 7, max 448, no infinities, NaN = S.1111.111.  E5M2: bias 15, max 57344, IEEE inf/NaN.
// Rounding is round-to-nearest-even. Non-saturating mode follows ml_dtypes' astype: E4M3 overflow
// (|x| >= 464, or inf) becomes NaN, E5M2 overflow becomes inf. NaN inputs give the canonical NaN
// (E4M3 S.1111.111, E5M2 S.11111.10) with the input's sign, as ml_dtypes does. Saturating mode clamps every
// non-NaN value (inf included) to +-max finite, as CUDA's __NV_SATFINITE does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

// Helpers below are `static inline`: the per-ISA translation units include this header with wider
// ISA flags, and internal linkage keeps the linker from merging their copies into ISA-free code.
namespace moe {

enum class Fp8Format { E4M3 = 0, E5M2 = 1 };

struct Fp8Spec {
  int mant;       // mantissa bits
  int bias;       // exponent bias
  uint32_t max_code;  // largest finite magnitude code
  uint8_t nan_code;   // canonical NaN magnitude code
  bool has_inf;
};

static inline Fp8Spec fp8_spec(Fp8Format f) {
  if (f == Fp8Format::E4M3) return {3, 7, 0x7E, 0x7F, false};
  return {2, 15, 0x7B, 0x7E, true};  // ml_dtypes' canonical E5M2 NaN is S.11111.10
}

static inline uint32_t f32_bits(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
static inline float bits_f32(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }

// Bit-manipulation encoder (branch-light, used by the fast paths; the reference encoder in
// fp8_ref.cc works through frexp/ldexp in double instead).
template <int MANT, int BIAS, bool HAS_INF>
static inline uint8_t fp8_encode_bits(float x, bool saturate) {
  constexpr uint32_t max_code = HAS_INF ? 0x7B : 0x7E;
  constexpr int e_min = 1 - BIAS;                        // exponent of the smallest normal
  uint32_t u = f32_bits(x);
  uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return sign | (HAS_INF ? 0x7E : 0x7F);  // canonical NaN, sign kept
  uint32_t code;
  if (a >= static_cast<uint32_t>(127 + e_min) << 23) {   // normal in fp8
    constexpr int shift = 23 - MANT;
    uint32_t r = a + ((1u << (shift - 1)) - 1) + ((a >> shift) & 1u);
    r >>= shift;
    code = r - (static_cast<uint32_t>(127 - BIAS) << MANT);
    if (a == 0x7F800000u) code = 0xFFFF;                 // inf: force overflow handling
  } else {
    // Subnormal: adding 2^(e_min - MANT + 23) makes fp32 round |x| to the fp8 subnormal step.
    const float magic = bits_f32(static_cast<uint32_t>(127 + e_min - MANT + 23) << 23);
    code = f32_bits(bits_f32(a) + magic) - f32_bits(magic);
  }
  if (code > max_code) {
    if (saturate) return sign | max_code;
    return sign | (HAS_INF ? 0x7C : 0x7F);
  }
  return sign | static_cast<uint8_t>(code);
}

static inline uint8_t f32_to_e4m3(float x, bool sat) { return fp8_encode_bits<3, 7, false>(x, sat); }
static inline uint8_t f32_to_e5m2(float x, bool sat) { return fp8_encode_bits<2, 15, true>(x, sat); }

// Exact decode tables (filled once): fp8 code -> float32 bits and -> bfloat16 bits.
const float* fp8_to_f32_table(Fp8Format f);
const uint16_t* fp8_to_bf16_table(Fp8Format f);

static inline float bf16_to_f32(uint16_t h) { return bits_f32(static_cast<uint32_t>(h) << 16); }
// Round-to-nearest-even; NaN becomes the canonical quiet NaN with its sign (as ml_dtypes does).
static inline uint16_t f32_to_bf16(float x) {
  uint32_t u = f32_bits(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7FC0u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// Reference (scalar, obviously-correct) conversions: fp8_ref.cc.
uint8_t ref_f32_to_fp8(float x, Fp8Format f, bool saturate);
float ref_fp8_to_f32(uint8_t c, Fp8Format f);

// Array conversions; dispatch by current_path(), threaded for large n.
void fp8_encode_f32(const float* x, uint8_t* out, size_t n, Fp8Format f, bool saturate);
void fp8_encode_bf16(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool saturate);
void fp8_decode_f32(const uint8_t* c, float* out, size_t n, Fp8Format f);
void fp8_decode_bf16(const uint8_t* c, uint16_t* out, size_t n, Fp8Format f);

}  // namespace moe

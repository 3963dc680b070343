// Scalar reference FP8 codec: value arithmetic in double, no bit tricks shared with fp8.h.
#include <cmath>

#include "fp8.h"

namespace moe {

float ref_fp8_to_f32(uint8_t c, Fp8Format f) {
  Fp8Spec s = fp8_spec(f);
  bool neg = c & 0x80;
  int mag = c & 0x7F;
  int e = mag >> s.mant, m = mag & ((1 << s.mant) - 1);
  double v;
  if (f == Fp8Format::E4M3 && mag == 0x7F) return neg ? -NAN : NAN;
  if (f == Fp8Format::E5M2 && e == 31) {
    if (m == 0) return neg ? -INFINITY : INFINITY;
    return neg ? -NAN : NAN;
  }
  if (e == 0) v = std::ldexp(static_cast<double>(m), 1 - s.bias - s.mant);
  else v = std::ldexp(1.0 + m / static_cast<double>(1 << s.mant), e - s.bias);
  return static_cast<float>(neg ? -v : v);
}

uint8_t ref_f32_to_fp8(float x, Fp8Format f, bool saturate) {
  Fp8Spec s = fp8_spec(f);
  uint8_t sign = std::signbit(x) ? 0x80 : 0;
  if (std::isnan(x)) return sign | s.nan_code;
  double ax = std::fabs(static_cast<double>(x));
  double max_val = ref_fp8_to_f32(static_cast<uint8_t>(s.max_code), f);
  uint8_t overflow = s.has_inf ? 0x7C : 0x7F;
  if (std::isinf(ax)) return sign | (saturate ? s.max_code : overflow);
  if (ax == 0) return sign;
  int e;
  std::frexp(ax, &e);                 // ax = m * 2^e, m in [0.5, 1)
  int exp = e - 1;                    // ax in [2^exp, 2^(exp+1))
  int e_min = 1 - s.bias;
  if (exp < e_min) exp = e_min;       // subnormal range shares the smallest exponent's step
  double step = std::ldexp(1.0, exp - s.mant);
  double q = std::nearbyint(ax / step);  // default rounding mode: nearest-even
  double v = q * step;
  if (v > max_val) return sign | (saturate ? s.max_code : overflow);
  // Find the code whose value is v (a table walk keeps this independent of the bit layout).
  static const auto tables = [] {
    struct T { double v[2][128]; } t{};
    for (int c = 0; c < 128; ++c) {
      t.v[0][c] = ref_fp8_to_f32(static_cast<uint8_t>(c), Fp8Format::E4M3);
      t.v[1][c] = ref_fp8_to_f32(static_cast<uint8_t>(c), Fp8Format::E5M2);
    }
    return t;
  }();
  const double* vals = tables.v[f == Fp8Format::E4M3 ? 0 : 1];
  for (int c = 0; c <= static_cast<int>(s.max_code); ++c)
    if (vals[c] == v) return sign | c;
  return sign | 0x7F;  // unreachable for finite v <= max
}

}  // namespace moe

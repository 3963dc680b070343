// FP8 encode loops compiled with the avx512 flags (see binding.gyp); the compiler vectorises fp8_simd.h.
#include "fp8_isa.h"
#include "fp8_simd.h"

namespace moe {

void fp8_encode_f32_avx512(const float* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  if (f == Fp8Format::E4M3) simd::encode_f32_loop<3, 7, false>(x, out, n, sat);
  else simd::encode_f32_loop<2, 15, true>(x, out, n, sat);
}

void fp8_encode_bf16_avx512(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  if (f == Fp8Format::E4M3) simd::encode_bf16_loop<3, 7, false>(x, out, n, sat);
  else simd::encode_bf16_loop<2, 15, true>(x, out, n, sat);
}

}  // namespace moe

namespace moe {
uint32_t amax_bits_avx512(const float* x, size_t n) { return simd::amax_bits_loop(x, n); }
void scale_encode_e4m3_avx512(const float* x, float s, uint8_t* out, size_t n) {
  simd::scale_encode_e4m3_loop(x, s, out, n);
}
}  // namespace moe

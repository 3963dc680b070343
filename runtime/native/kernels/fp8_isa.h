// Per-ISA entry points for the codec loops (defined in fp8_avx512.cc / fp8_avx2.cc).
#pragma once
#include "fp8.h"

namespace moe {
void fp8_encode_f32_avx512(const float* x, uint8_t* out, size_t n, Fp8Format f, bool sat);
void fp8_encode_bf16_avx512(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool sat);
void fp8_encode_f32_avx2(const float* x, uint8_t* out, size_t n, Fp8Format f, bool sat);
void fp8_encode_bf16_avx2(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool sat);
}  // namespace moe

namespace moe {
uint32_t amax_bits_avx512(const float* x, size_t n);
uint32_t amax_bits_avx2(const float* x, size_t n);
void scale_encode_e4m3_avx512(const float* x, float s, uint8_t* out, size_t n);
void scale_encode_e4m3_avx2(const float* x, float s, uint8_t* out, size_t n);
// out[i] = e4m3(x[i] / s[i]), saturating: a scale per element (per column of a column-tiled block row)
void scale_encode_cols_e4m3_avx512(const float* x, const float* s, uint8_t* out, size_t n);
// out[i] = decode_e4m3(q[i]) * s
void dequant_e4m3_avx512(const uint8_t* q, float s, float* out, size_t n);
}  // namespace moe

// FP8 array codecs: dispatch between the scalar reference and the per-ISA loops, threaded.
#include "fp8.h"

#include "cpu.h"
#include "fp8_isa.h"

namespace moe {

namespace {
struct Tables {
  float f32[2][256];
  uint16_t bf16[2][256];
  Tables() {
    for (int f = 0; f < 2; ++f)
      for (int c = 0; c < 256; ++c) {
        f32[f][c] = ref_fp8_to_f32(static_cast<uint8_t>(c), static_cast<Fp8Format>(f));
        bf16[f][c] = f32_to_bf16(f32[f][c]);  // exact: every fp8 value fits bf16
      }
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}
constexpr size_t kGrain = 1 << 16;
}  // namespace

const float* fp8_to_f32_table(Fp8Format f) { return tables().f32[static_cast<int>(f)]; }
const uint16_t* fp8_to_bf16_table(Fp8Format f) { return tables().bf16[static_cast<int>(f)]; }

void fp8_encode_f32(const float* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  KernelPath p = current_path();
  if (p == KernelPath::Reference) {
    for (size_t i = 0; i < n; ++i) out[i] = ref_f32_to_fp8(x[i], f, sat);
    return;
  }
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    if (p >= KernelPath::Avx512) fp8_encode_f32_avx512(x + b, out + b, e - b, f, sat);
    else fp8_encode_f32_avx2(x + b, out + b, e - b, f, sat);
  });
}

void fp8_encode_bf16(const uint16_t* x, uint8_t* out, size_t n, Fp8Format f, bool sat) {
  KernelPath p = current_path();
  if (p == KernelPath::Reference) {
    for (size_t i = 0; i < n; ++i) out[i] = ref_f32_to_fp8(bf16_to_f32(x[i]), f, sat);
    return;
  }
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    if (p >= KernelPath::Avx512) fp8_encode_bf16_avx512(x + b, out + b, e - b, f, sat);
    else fp8_encode_bf16_avx2(x + b, out + b, e - b, f, sat);
  });
}

void fp8_decode_f32(const uint8_t* c, float* out, size_t n, Fp8Format f) {
  if (current_path() == KernelPath::Reference) {
    for (size_t i = 0; i < n; ++i) out[i] = ref_fp8_to_f32(c[i], f);
    return;
  }
  const float* t = fp8_to_f32_table(f);
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) out[i] = t[c[i]];
  });
}

void fp8_decode_bf16(const uint8_t* c, uint16_t* out, size_t n, Fp8Format f) {
  if (current_path() == KernelPath::Reference) {
    for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(ref_fp8_to_f32(c[i], f));
    return;
  }
  const uint16_t* t = fp8_to_bf16_table(f);
  parallel_for(n, kGrain, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) out[i] = t[c[i]];
  });
}

}  // namespace moe

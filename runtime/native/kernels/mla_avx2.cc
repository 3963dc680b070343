// MLA primitives on AVX2 + FMA (8 fp32 lanes).
#include "mla.h"
#include "mla_simd.h"
#include "simd_lanes.h"

namespace moe {
namespace mla {

Isa isa_avx2() {
  using simd_lanes::V8;
  return {simd::dots<V8>, simd::mix<V8>, simd::dots_t<V8>, simd::softmax<V8>};
}

}  // namespace mla
}  // namespace moe

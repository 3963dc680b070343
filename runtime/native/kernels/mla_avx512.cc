// MLA primitives on AVX-512F (16 fp32 lanes).
#include "mla.h"
#include "mla_simd.h"
#include "simd_lanes.h"

namespace moe {
namespace mla {

Isa isa_avx512() {
  using simd_lanes::V16;
  return {simd::dots<V16>, simd::mix<V16>, simd::dots_t<V16>, simd::softmax<V16>};
}

}  // namespace mla
}  // namespace moe

// Serving row kernels on AVX2 + FMA.
#include "serve_ops.h"
#include "serve_ops_simd.h"
#include "simd_lanes.h"

namespace moe {
namespace serve {

Isa isa_avx2() { return {simd::silu_mul<simd_lanes::V8>, simd::matmul_f64<simd_lanes::V8>}; }

}  // namespace serve
}  // namespace moe

// Serving row kernels on AVX-512F.
#include "serve_ops.h"
#include "serve_ops_simd.h"
#include "simd_lanes.h"

namespace moe {
namespace serve {

Isa isa_avx512() { return {simd::silu_mul<simd_lanes::V16>, simd::matmul_f64<simd_lanes::V16>}; }

}  // namespace serve
}  // namespace moe

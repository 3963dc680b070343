// Training row kernels on AVX-512F.
#include "train_ops_isa.h"
#include "train_ops_simd.h"
#include "simd_lanes.h"

namespace moe {
namespace train {

Isa isa_avx512() { return simd::isa<simd_lanes::V16>(); }

}  // namespace train
}  // namespace moe

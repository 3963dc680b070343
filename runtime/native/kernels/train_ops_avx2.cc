// Training row kernels on AVX2 + FMA.
#include "train_ops_isa.h"
#include "train_ops_simd.h"
#include "simd_lanes.h"

namespace moe {
namespace train {

Isa isa_avx2() { return simd::isa<simd_lanes::V8>(); }

}  // namespace train
}  // namespace moe

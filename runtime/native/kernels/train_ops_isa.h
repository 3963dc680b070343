// The training row kernels' per-ISA entry points (train_ops.cc dispatches by kernel path; the scalar reference there,
// the vector bodies in train_ops_simd.h, built per ISA by train_ops_avx512.cc and train_ops_avx2.cc).
#pragma once
#include <cstddef>

namespace moe {
namespace train {

struct Isa {
  // a = silu(g) * u; dg, du from da (train_ops.h train_swiglu_*).
  void (*swiglu_fwd)(const float* g, const float* u, size_t n, float* a);
  void (*swiglu_bwd)(const float* g, const float* u, const float* da, size_t n, float* dg, float* du);
  // Rows [0, T) of RMSNorm: y and r (1/rms per row); backward dx from dy (the row-local part); dw columns [d0, d1).
  void (*rmsnorm_fwd)(const float* x, const float* w, size_t T, size_t D, double eps, float* y, float* r);
  void (*rmsnorm_bwd)(const float* x, const float* w, const float* r, const float* dy, size_t T, size_t D, float* dx);
  void (*rmsnorm_dw)(const float* x, const float* r, const float* dy, size_t T, size_t D, size_t d0, size_t d1, float* dw);
};

Isa isa_avx2();
Isa isa_avx512();

}  // namespace train
}  // namespace moe

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
  // The attention core's products: sc[j] = sum_e a[e] * Mt[e*ld + j] for the blocks of 16 from jb0 (a multiple of 16)
  // through the one holding j1 (Mt padded to whole blocks); out[e] = sum_{j0..j1} w[j] * M[j*ld + e] for e < n, in j
  // order (zero weights skipped when skip_zero).
  void (*dot_blocks)(const float* a, const float* Mt, size_t n, size_t ld, size_t jb0, size_t j1, float* sc);
  void (*weighted_rows)(const float* w, const float* M, size_t ld, size_t n, size_t j0, size_t j1, bool skip_zero, float* out);
};

Isa isa_avx2();
Isa isa_avx512();

}  // namespace train
}  // namespace moe

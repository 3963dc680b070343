// Small row kernels of the serving engine's token-wise layers. No V8/nan here.
#pragma once
#include <cstddef>

namespace moe {

// out[t, i] = silu(y[t, g0+i]) * y[t, u0+i] for i < n, rows of width ld (the fused gate|up GEMM's output).
// silu(g) = g / (1 + exp(-g)) in fp32; the SIMD paths use a polynomial exp (Cephes expf, ~2 ulp).
void silu_mul_rows(const float* y, size_t T, size_t ld, size_t g0, size_t u0, size_t n, float* out);

// y[t, o] = float( sum_i double(x[t, i]) * double(W[o, i]) ), summed in i order in float64: bit-identical to the
// training code's matmulT on float32 inputs (a float32 product is exact in float64, so FMA rounds as mul + add).
// wt is W transposed and widened once: [in, out] float64.
void matmul_t_f64(const float* x, const double* wt, size_t T, size_t in, size_t out, float* y);

namespace serve {
struct Isa {
  void (*silu_mul)(const float* g, const float* u, size_t n, float* out);
  // y[o] for o < out of one row (see matmul_t_f64)
  void (*matvec_f64)(const float* x, const double* wt, size_t in, size_t out, float* y);
};
Isa isa_avx2();
Isa isa_avx512();
}  // namespace serve

}  // namespace moe

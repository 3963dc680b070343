// Small row kernels of the serving engine's token-wise layers. No V8/nan here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

// out[t, i] = silu(y[t, g0+i]) * y[t, u0+i] for i < n, rows of width ld (the fused gate|up GEMM's output).
// silu(g) = g / (1 + exp(-g)) in fp32; the SIMD paths use a polynomial exp (Cephes expf, ~2 ulp).
void silu_mul_rows(const float* y, size_t T, size_t ld, size_t g0, size_t u0, size_t n, float* out);

// y[t, o] = float( sum_i double(x[t, i]) * double(W[o, i]) ), summed in i order in float64: bit-identical to the
// training code's matmulT on float32 inputs (a float32 product is exact in float64, so FMA rounds as mul + add).
// wt is W transposed and widened once: [in, out] float64.
void matmul_t_f64(const float* x, const double* wt, size_t T, size_t in, size_t out, float* y);

// The training rmsnorm's bits (model/norm.ts) over T rows: r_t = 1 / sqrt(sum_i x[t,i]^2 / d + eps) with the sum in
// float64 in i order, y[t,i] = float((x[t,i] * r_t) * w[i]) in float64. With `a` the row is first x[t] + a[t]
// (float32 add, a residual), written to `sum`. Four rows' sums run as independent chains (same order per row).
void rmsnorm_rows(const float* x, const float* a, const float* w, size_t T, size_t d, double eps, float* sum, float* y);

// The MoE combine with the training layer's rounding order: for every routed row i in order, t = pair_of[i] / K,
// y[t, :] = float(y[t, :] + weight[pair_of[i]] * ys[i, :]) in float64; then y += shared (float32) when given.
// y [T, d] starts at zero here.
void moe_combine_rows(const float* ys, const int32_t* pair_of, const double* weight, size_t rows, size_t K, size_t d,
                      const float* shared, size_t T, float* y);

// out[i, :] = x[pair_of[i] / K, :] for i < rows (the MoE's routed rows, grouped by expert).
void gather_pair_rows(const float* x, const int32_t* pair_of, size_t rows, size_t K, size_t d, float* out);

// out = a + b (float32).
void add_rows(const float* a, const float* b, size_t n, float* out);

namespace serve {
struct Isa {
  void (*silu_mul)(const float* g, const float* u, size_t n, float* out);
  // T rows of y (see matmul_t_f64)
  void (*matmul_f64)(const float* x, size_t T, const double* wt, size_t in, size_t out, float* y);
};
Isa isa_avx2();
Isa isa_avx512();
}  // namespace serve

}  // namespace moe

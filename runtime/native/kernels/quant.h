// Fine-grained FP8 (E4M3) quantisation of REFERENCE.md section 2. No V8/nan here.
//
// Activations: per 1x128 tile of a row-major [M,K] matrix; scales [M, ceil(K/128)].
// Weights: per 128x128 block of [N,K]; scale_inv [ceil(N/128), ceil(K/128)].
// s = max(amax, 1e-4) / 448 (optionally rounded up to a power of two), q = e4m3(x / s),
// dequantised x' = decode(q) * s. Partial tiles/blocks are zero padded, which leaves amax unchanged.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

constexpr int kQuantTile = 128;
constexpr float kE4M3Max = 448.0f;
constexpr float kAmaxFloor = 1e-4f;

static inline size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// Scale from a block's amax; pow2 rounds up to 2^ceil(log2 s) ("ue8m0").
float quant_scale(float amax, bool pow2);

// Return -1 on success, or the flat index of the first non-finite input (nothing useful written).
long long quant_act(const float* x, size_t M, size_t K, bool pow2, uint8_t* q, float* scales);
long long quant_weight(const float* w, size_t N, size_t K, bool pow2, uint8_t* q, float* scale_inv);
void dequant_act(const uint8_t* q, const float* scales, size_t M, size_t K, float* out);

// quant_weight of E stacked matrices w[e] [N, K] into q [E*N*K], scale_inv [E*NB*KB] (each matrix its own blocks): the
// MoE experts' weights, quantised in one call without first copying them into one array.
long long quant_weight_stacked(const float* const* w, size_t E, size_t N, size_t K, bool pow2, uint8_t* q,
                               float* scale_inv);

// Serial pieces of the above for callers that split the work themselves (the pool does not nest), same bits:
// quant_act's tiles of rows [r0, r1) (false on a non-finite value), and quant_weight's block b of w [N, K].
bool quant_act_rows(const float* x, size_t K, size_t r0, size_t r1, bool pow2, uint8_t* q, float* scales);
bool quant_weight_block(const float* w, size_t N, size_t K, size_t b, bool pow2, uint8_t* q, float* scale_inv);
// Column tiles: x [rows, cols] (rows <= 128, one tile high) quantised per column (scale of column j from the max of
// |x[., j]|): q in x's layout, s[j] the column's scale. False on a non-finite value.
bool quant_col_tile(const float* x, size_t rows, size_t cols, uint8_t* q, float* s);
void dequant_weight(const uint8_t* q, const float* scale_inv, size_t N, size_t K, float* out);

}  // namespace moe

// The FP8 backward of linear layers y = x·Wᵀ in one call each (training, precision.ts fp8-native): the gradient's
// rescale, both of its quantisations, x's blocks and the dgrad and wgrad GEMMs, with the quantised operands in
// per-thread scratch instead of fresh arrays per call. No V8/nan here.
//
// Operands, as fp8-native's separate dgrad and wgrad build them (the same bits):
//   c = 2^-floor(log2(max|dy|)) (1 for an all-zero dy), exact in binary floating point;
//   dgrad dx [T, in] += (1/c) · Q(c·dy) · Wᵀᵀ: c·dy in 1×128 tiles along out, W's forward codes read transposed;
//   wgrad dW [out, in] += (1/c) · Q(c·dy)ᵀ · Q(x): c·dy in tiles of 128 rows per column (along T), x in 128×128 blocks
//   read transposed; 1/c is folded into the left operand's tile scales (fp8_gemm_t_acc).
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

// The forward y [T, N] = Q(x) · Q(W)ᵀ (fp8_gemm): x [T, K] quantised in 1×128 tiles into the calling thread's scratch
// (its codes are not needed after the GEMM), W's codes Wq [N, K] and block scales Wsi given. Returns -1 or the flat
// index of a non-finite value in x.
long long fp8_linear_forward(const float* x, size_t T, size_t K, const uint8_t* Wq, const float* Wsi, size_t N, float* y);

// c for dy [n]; false when dy holds a non-finite value.
bool fp8_grad_scale(const float* dy, size_t n, float* c);

// Process CPU time (every thread) spent quantising in this file's calls since the last read, in ms; reading resets it.
double fp8_linear_quant_ms();

// One linear: dy [T, out], x [T, in] (float32), W's forward codes Wq [out, in] with block scales Wsi [OB, IB].
// dx and dW are added to (either may be null: that product is skipped). Returns -1, or the flat index of a
// non-finite value in dy (bad_x false) or in x (bad_x true).
long long fp8_linear_backward(const float* dy, const float* x, size_t T, size_t out, size_t in, const uint8_t* Wq,
                              const float* Wsi, float* dx, float* dW, bool* bad_x);

// The routed experts of one MoE layer: expert e owns rows [off[e], off[e+1]) of x [R, in] and of each dy[p] [R, out];
// projection p's stacked codes Wq[p] [E, out, in] and scales Wsi[p] [E, OB, IB]; dW[p * E + e] its gradient. Per
// expert with rows: x's blocks quantised once for every projection, then fp8_linear_backward's products for p = 0, 1, ..
// in order (dx [R, in] accumulates them in that order). The same bits as one fp8_linear_backward per (expert, p).
long long fp8_experts_backward(const float* x, size_t in, const int32_t* off, size_t E, size_t P,
                               const float* const* dy, size_t out, const uint8_t* const* Wq, const float* const* Wsi,
                               float* dx, float* const* dW, bool* bad_x);

}  // namespace moe

// The training step's float32 work around the GEMMs (runtime/src/model): optimizer, attention core, norms, SwiGLU,
// cross-entropy, transposed quantisation for the wgrad GEMM, and a float32 GEMM for the router and the fp32 mode.
// Portable C++ written for the compiler's vectoriser (inner loops contiguous, no reductions across iterations where
// it matters); the TypeScript loops they replace stay as the reference the tests compare against. No V8/nan here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

// AdamW with FP32 master weights and BF16 moments (bit patterns), as runtime/src/train/adamw.ts: widen the moments,
// update in float32 (the hyper-parameters rounded to float32, each operation rounded, none fused), narrow with
// round-to-nearest-even. bc1/bc2: 1 - beta^(step+1). An AVX-512 path beside the scalar reference.
void train_adamw_bf16(float* w, const float* g, uint16_t* m, uint16_t* v, size_t n, double lr, double beta1,
                      double beta2, double eps, double wd, double bc1, double bc2);
// init + the sum of squares in float64: element i into lane i % 8, the lanes summed ((0+1)+(2+3))+((4+5)+(6+7)), as
// adamw.ts sumSquaresRef (a running sum over several arrays chains through init).
double train_sumsq(const float* x, size_t n, double init);
// x *= f
void train_scale(float* x, size_t n, double f);
// dst += src * a
void train_axpy(float* dst, const float* src, size_t n, float a);

// Causal MLA attention core over B sequences of S rows and H heads (training form): q [T, H*(dn+dr)] per head nope
// then rope part; kv [T, H*(dn+dv)] per head k_nope then v; kpe [T, dr] shared by the heads. lo [T] (nullable): row
// i attends to keys [lo[i], i] of its sequence. Writes probs [B*H*S*S] (lower triangles) and o [T, H*dv].
void train_attn_fwd(const float* q, const float* kv, const float* kpe, const int32_t* lo, size_t B, size_t S, size_t H,
                    size_t dn, size_t dr, size_t dv, float scale, float* probs, float* o);
// From dO [T, H*dv]: dq [T, H*(dn+dr)], dkv [T, H*(dn+dv)], dkpe [T, dr] (all overwritten).
void train_attn_bwd(const float* q, const float* kv, const float* kpe, const float* probs, const float* dO,
                    const int32_t* lo, size_t B, size_t S, size_t H, size_t dn, size_t dr, size_t dv, float scale,
                    float* dq, float* dkv, float* dkpe);

// RMSNorm y = x * r * w with r[t] = 1/sqrt(mean(x[t]^2) + eps), r kept for the backward. Per-ISA paths (float32
// lane sums) beside the scalar reference (float64 sums): train_ops_isa.h.
void train_rmsnorm_fwd(const float* x, const float* w, size_t T, size_t D, double eps, float* y, float* r);
// dx (overwritten) and dw (+=) from dy.
void train_rmsnorm_bwd(const float* x, const float* w, const float* r, const float* dy, size_t T, size_t D, float* dx,
                       float* dw);
// a = silu(g) * u; backward: dg, du from da (overwritten). The vector paths' exp: simd_exp.h (~2 ulp).
void train_swiglu_fwd(const float* g, const float* u, size_t n, float* a);
void train_swiglu_bwd(const float* g, const float* u, const float* da, size_t n, float* dg, float* du);

// rope.ts rope in place: rows t < T of width cols, `heads` vectors of width dr from column col0 at stride `stride`;
// pair c of row t turns by pos[t] * inv[c] (the inverse rotation when `inverse`), times amp; float64 arithmetic.
void train_rope(float* x, const int32_t* pos, size_t T, size_t cols, size_t col0, size_t heads, size_t stride,
                size_t dr, const double* inv, double amp, bool inverse);
// Embedding rows: y[i] = E[ids[i]]; backward dE[ids[i]] += dy[i] in row order. ids checked by the caller.
void train_embed_fwd(const float* E, const int32_t* ids, size_t n, size_t d, float* y);
void train_embed_bwd(const float* dy, const int32_t* ids, size_t n, size_t d, float* dE);

// Mean cross-entropy over rows of logits [T, V]; dlogits = (softmax - onehot) * weight / T. Returns the mean loss,
// or NaN when a target is outside [0, V) (bad_row set to that row).
double train_cross_entropy(const float* logits, const int32_t* targets, size_t T, size_t V, double weight,
                           float* dlogits, long long* bad_row);

// max |x| (NaN if any is NaN).
float train_amax(const float* x, size_t n);
// FP8 activations (1x128 tiles) of c * x for x [rows, cols]; returns as quant_act.
long long train_quant_act_scaled(const float* x, size_t rows, size_t cols, float c, uint8_t* q, float* scales);
// out [cols, rows] = x^T for x [rows, cols].
void train_transpose(const float* x, size_t rows, size_t cols, float* out);
// (c*x)^T for x [rows, cols] as FP8 activations [cols, rows] (1x128 tiles along rows), codes stored untransposed
// [rows, cols] (fp8_gemm_t's trans_a layout), scales [cols, ceil(rows/128)]: the codes and scales of quantising the
// transposed copy, without making it. Returns -1, or the flat index into x of the first non-finite c*x.
long long train_quant_act_cols(const float* x, size_t rows, size_t cols, float c, uint8_t* q, float* scales);

// float32 GEMMs, row-major, W [out, in]: y = x . W^T; dx += dy . W; dW += dy^T . x.
void train_sgemm_nt(const float* x, const float* W, size_t T, size_t in, size_t out, float* y);
void train_sgemm_nn_acc(const float* dy, const float* W, size_t T, size_t out, size_t in, float* dx);
void train_sgemm_tn_acc(const float* dy, const float* x, size_t T, size_t out, size_t in, float* dW);

}  // namespace moe

// DeepSeek-V3 MoE routing (REFERENCE.md section 1), dispatch and combine. No V8/nan here.
//
// Ties: wherever two scores are equal, the lower index wins (groups and experts alike), and the
// selected experts are listed by biased score descending, lower index first on ties.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

struct RouteParams {
  size_t tokens, experts, groups, topk_group, topk;
  float scale;  // routed scaling factor (2.5 in V3)
};

// logits [T,E] (x . W_gate), bias [E] -> idx [T,topk], weights [T,topk], counts [E] (tokens per expert).
// s = sigmoid(logits); selection by s + bias (group score = sum of the group's top-2 biased scores,
// keep topk_group groups, then top-k); weight = s / sum(selected s) * scale, summed in fp32 in
// selection order. Returns -1, or the flat index of the first non-finite logit (then E*T + e for bias).
long long route(const float* logits, const float* bias, const RouteParams& p, int32_t* idx, float* weights,
                int32_t* counts);

// d loss / d logits [T,E] from d loss / d weights [T,topk] (bias gets no gradient; unselected 0).
void route_backward(const float* logits, const int32_t* idx, const float* dweights, const RouteParams& p,
                    float* dlogits);

// Expert-contiguous order of the T*k (token, slot) pairs: expert by expert, tokens ascending.
// offsets [E+1]; slot_of_row[r] = t*k + j of row r; row_of_slot is its inverse.
void dispatch_plan(const int32_t* idx, size_t T, size_t k, size_t E, int32_t* offsets, int32_t* slot_of_row,
                   int32_t* row_of_slot);
// out[r] = x[slot_of_row[r] / k], rows of row_bytes bytes (f32, fp8 codes, scales alike).
void dispatch_rows(const uint8_t* x, size_t row_bytes, const int32_t* slot_of_row, size_t rows, size_t k,
                   uint8_t* out);
// dx[t] = sum_j dout[row_of_slot[t*k+j]]   (backward of dispatch_rows, f32 rows of D)
void dispatch_backward(const float* dout, const int32_t* row_of_slot, size_t T, size_t k, size_t D, float* dx);
// y[t] = sum_j w[t,j] * eo[row_of_slot[t*k+j]]
void combine(const float* eo, const float* w, const int32_t* row_of_slot, size_t T, size_t k, size_t D, float* y);
// The same with bfloat16 expert outputs (the recipe's combine format), fp32 accumulation and output.
void combine_bf16(const uint16_t* eo, const float* w, const int32_t* row_of_slot, size_t T, size_t k, size_t D,
                  float* y);
// deo[row_of_slot[t*k+j]] = w[t,j] * dy[t];  dw[t,j] = dot(dy[t], eo[row_of_slot[t*k+j]])
void combine_backward(const float* dy, const float* eo, const float* w, const int32_t* row_of_slot, size_t T,
                      size_t k, size_t D, float* deo, float* dw);

}  // namespace moe

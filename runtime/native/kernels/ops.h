// float32 helpers the model needs. No V8/nan here. All row-major, threaded over rows.
#pragma once
#include <cstddef>
#include <cstdint>

namespace moe {

// y[t,:] = x[t,:] / sqrt(mean(x[t,:]^2) + eps) * w   (x [T,D], w [D])
void rmsnorm(const float* x, const float* w, size_t T, size_t D, float eps, float* y);
// y = silu(gate) * up = gate / (1 + exp(-gate)) * up   (elementwise, n values)
void swiglu(const float* gate, const float* up, size_t n, float* y);
// Row softmax of x [T,D] (max-subtracted; exp in float64 for a reference-grade result).
void softmax(const float* x, size_t T, size_t D, float* y);
// Rotary embedding on x [T,H,Dr] (Dr even), interleaved pairs (x[2i], x[2i+1]) as in DeepSeek-V3's
// reference: angle = pos[t] * theta^(-2i/Dr). Writes y (may alias x).
void rope(const float* x, const int32_t* pos, size_t T, size_t H, size_t Dr, float theta, float* y);

}  // namespace moe

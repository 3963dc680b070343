// One implementation per op (compiled -O3, vectorised where the compiler can), threaded over rows.
#include "ops.h"

#include <cmath>

#include "cpu.h"

namespace moe {

void rmsnorm(const float* x, const float* w, size_t T, size_t D, float eps, float* y) {
  parallel_for(T, 32, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* r = x + t * D;
      double ss = 0;
      for (size_t d = 0; d < D; ++d) ss += static_cast<double>(r[d]) * r[d];
      float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
      for (size_t d = 0; d < D; ++d) y[t * D + d] = r[d] * inv * w[d];
    }
  });
}

void swiglu(const float* gate, const float* up, size_t n, float* y) {
  parallel_for(n, 1 << 14, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  });
}

void softmax(const float* x, size_t T, size_t D, float* y) {
  parallel_for(T, 32, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* r = x + t * D;
      float mx = -INFINITY;
      for (size_t d = 0; d < D; ++d) mx = r[d] > mx ? r[d] : mx;
      double sum = 0;
      for (size_t d = 0; d < D; ++d) sum += std::exp(static_cast<double>(r[d]) - mx);
      for (size_t d = 0; d < D; ++d) y[t * D + d] = static_cast<float>(std::exp(static_cast<double>(r[d]) - mx) / sum);
    }
  });
}

void rope(const float* x, const int32_t* pos, size_t T, size_t H, size_t Dr, float theta, float* y) {
  parallel_for(T, 16, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t)
      for (size_t i = 0; i < Dr / 2; ++i) {
        double ang = pos[t] * std::pow(static_cast<double>(theta), -2.0 * i / static_cast<double>(Dr));
        float c = static_cast<float>(std::cos(ang)), s = static_cast<float>(std::sin(ang));
        for (size_t h = 0; h < H; ++h) {
          size_t o = (t * H + h) * Dr + 2 * i;
          float a = x[o], b = x[o + 1];
          y[o] = a * c - b * s;
          y[o + 1] = a * s + b * c;
        }
      }
  });
}

}  // namespace moe

// Scalar reference primitives for mla.cc: written from the definitions, float64 accumulation (the parity oracle).
#include "mla.h"

#include <algorithm>
#include <cmath>

namespace moe {
namespace mla {
namespace {

void dots(const float* Q, size_t ldq, size_t m, const float* K, size_t ldk, size_t N, size_t w, float* S, size_t lds) {
  for (size_t r = 0; r < m; ++r)
    for (size_t j = 0; j < N; ++j) {
      double s = 0;
      for (size_t c = 0; c < w; ++c) s += static_cast<double>(Q[r * ldq + c]) * K[j * ldk + c];
      S[r * lds + j] = static_cast<float>(s);
    }
}

void mix(const float* P, size_t lds, size_t m, const float* K, size_t ldk, size_t N, size_t k, float* O, size_t ldo) {
  for (size_t r = 0; r < m; ++r)
    for (size_t c = 0; c < k; ++c) {
      double s = 0;
      for (size_t j = 0; j < N; ++j) s += static_cast<double>(P[r * lds + j]) * K[j * ldk + c];
      O[r * ldo + c] = static_cast<float>(s);
    }
}

void dots_t(const float* Q, size_t ldq, size_t m, const float* KT, size_t ldkt, size_t N, size_t w, float* S, size_t lds) {
  for (size_t r = 0; r < m; ++r)
    for (size_t j = 0; j < N; ++j) {
      double s = 0;
      for (size_t c = 0; c < w; ++c) s += static_cast<double>(Q[r * ldq + c]) * KT[c * ldkt + j];
      S[r * lds + j] = static_cast<float>(s);
    }
}

void softmax(float* p, size_t N) {
  float mx = -INFINITY;
  for (size_t j = 0; j < N; ++j) mx = std::max(mx, p[j]);
  double z = 0;
  for (size_t j = 0; j < N; ++j) {
    p[j] = std::exp(p[j] - mx);
    z += p[j];
  }
  const float inv = static_cast<float>(1.0 / z);
  for (size_t j = 0; j < N; ++j) p[j] *= inv;
}

}  // namespace

Isa isa_ref() { return {dots, mix, dots_t, softmax}; }

}  // namespace mla
}  // namespace moe

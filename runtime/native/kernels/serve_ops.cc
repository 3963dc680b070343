// Serving row kernels: scalar reference and dispatch by kernel path.
#include "serve_ops.h"

#include <cmath>

#include "cpu.h"

namespace moe {
namespace {

void silu_mul_ref(const float* g, const float* u, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void matvec_ref(const float* x, const double* wt, size_t in, size_t out, float* y) {
  for (size_t o = 0; o < out; ++o) {
    double s = 0;
    for (size_t i = 0; i < in; ++i) s += static_cast<double>(x[i]) * wt[i * out + o];
    y[o] = static_cast<float>(s);
  }
}

const serve::Isa& isa() {
  static const serve::Isa ref{silu_mul_ref, matvec_ref}, avx2 = serve::isa_avx2(), avx512 = serve::isa_avx512();
  switch (current_path()) {
    case KernelPath::Reference: return ref;
    case KernelPath::Avx2: return avx2;
    default: return avx512;
  }
}

}  // namespace

void silu_mul_rows(const float* y, size_t T, size_t ld, size_t g0, size_t u0, size_t n, float* out) {
  const serve::Isa& I = isa();
  parallel_for(T, 16, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) I.silu_mul(y + t * ld + g0, y + t * ld + u0, n, out + t * n);
  });
}

void matmul_t_f64(const float* x, const double* wt, size_t T, size_t in, size_t out, float* y) {
  const serve::Isa& I = isa();
  parallel_for(T, 16, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) I.matvec_f64(x + t * in, wt, in, out, y + t * out);
  });
}

}  // namespace moe

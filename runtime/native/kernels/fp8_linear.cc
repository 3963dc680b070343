#include "fp8_linear.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <vector>

#include "cpu.h"
#include "fp8.h"
#include "fp8_isa.h"
#include "gemm.h"
#include "quant.h"

namespace moe {

namespace {

std::atomic<long long> g_quant_ns{0};

// Inside a chunk of the experts' parallel loop each thread times only itself (the others run their own experts).
thread_local bool t_own_clock = false;

long long cpu_ns() {
  timespec ts;
  clock_gettime(t_own_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Adds the CPU time of its scope to the quantisation total (the bench's breakdown tells it from the GEMMs): the
// process's (every thread: the pool's workers quantise too), or this thread's inside the experts' parallel loop.
struct QuantTimer {
  long long t0 = cpu_ns();
  ~QuantTimer() { g_quant_ns += cpu_ns() - t0; }
};

// Quantised operands kept between calls on the calling thread: fresh pages per call cost as much as the small GEMMs.
struct Scratch {
  std::vector<uint8_t> qr, qc, xq, aq;
  std::vector<float> sr, sc, xs, wst, xst, as;
};
Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void scale_copy(const float* __restrict x, size_t n, float c, float* __restrict out) {
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * c;
}

uint32_t amax_bits_any(const float* x, size_t n) {
  const KernelPath p = current_path();
  if (p >= KernelPath::Avx512) return amax_bits_avx512(x, n);
  if (p == KernelPath::Avx2) return amax_bits_avx2(x, n);
  uint32_t m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, f32_bits(x[i]) & 0x7FFFFFFFu);
  return m;
}

// c·dy [T, out] in 1×128 tiles along out (qr, sr [T, OB]) and in 128-row tiles per column (qc in dy's layout,
// sc [out, TB]); either may be skipped. The products c·dy first, as fp8-native's quantisers make them.
bool quant_grad(const float* dy, size_t T, size_t out, float c, bool rows, bool cols, uint8_t* qr, float* sr,
                uint8_t* qc, float* sc) {
  const size_t TB = ceil_div(T, kQuantTile), OB = ceil_div(out, kQuantTile);
  std::atomic<bool> bad{false};
  parallel_for(TB, 1, [&](size_t b0, size_t b1) {
    thread_local std::vector<float> t, s;
    t.resize(kQuantTile * out);
    s.resize(out);
    for (size_t tb = b0; tb < b1 && !bad; ++tb) {
      const size_t r0 = tb * kQuantTile, n = std::min<size_t>(kQuantTile, T - r0);
      const float* src = dy + r0 * out;
      scale_copy(src, n * out, c, t.data());
      if (rows && !quant_act_rows(t.data(), out, 0, n, false, qr + r0 * out, sr + r0 * OB)) bad = true;
      if (cols) {
        if (!quant_col_tile(t.data(), n, out, qc + r0 * out, s.data())) bad = true;
        for (size_t j = 0; j < out; ++j) sc[j * TB + tb] = s[j];
      }
    }
  });
  return !bad;
}

long long first_nonfinite(const float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return static_cast<long long>(i);
  return -1;
}

// fp8_linear_backward with x's blocks given (xq [T, in], xs [TB, IB]; unused when dW is null).
long long linear_core(const float* dy, size_t T, size_t out, size_t in, const uint8_t* Wq, const float* Wsi,
                      const uint8_t* xq, const float* xs, float* dx, float* dW) {
  Scratch& S = scratch();
  const size_t TB = ceil_div(T, kQuantTile), OB = ceil_div(out, kQuantTile), IB = ceil_div(in, kQuantTile);
  float c = 1.0f;
  {
    QuantTimer qt;
    if (!fp8_grad_scale(dy, T * out, &c)) return first_nonfinite(dy, T * out);
    S.qr.resize(dx ? T * out : 0);
    S.sr.resize(dx ? T * OB : 0);
    S.qc.resize(dW ? T * out : 0);
    S.sc.resize(dW ? out * TB : 0);
    if (!quant_grad(dy, T, out, c, dx != nullptr, dW != nullptr, S.qr.data(), S.sr.data(), S.qc.data(), S.sc.data()))
      return first_nonfinite(dy, T * out);
    if (dx) {
      S.wst.resize(IB * OB);
      for (size_t ob = 0; ob < OB; ++ob)
        for (size_t ib = 0; ib < IB; ++ib) S.wst[ib * OB + ob] = Wsi[ob * IB + ib];
    }
    if (dW) {
      S.xst.resize(IB * TB);
      for (size_t tb = 0; tb < TB; ++tb)
        for (size_t ib = 0; ib < IB; ++ib) S.xst[ib * TB + tb] = xs[tb * IB + ib];
    }
  }
  const float alpha = 1.0f / c;
  if (dW) fp8_gemm_t_acc(S.qc.data(), S.sc.data(), true, xq, S.xst.data(), true, out, in, T, alpha, dW);
  if (dx) fp8_gemm_t_acc(S.qr.data(), S.sr.data(), false, Wq, S.wst.data(), true, T, in, out, alpha, dx);
  return -1;
}

// x [T, in] in 128×128 blocks into the scratch; -1 or the index of a non-finite value.
long long quant_x(const float* x, size_t T, size_t in) {
  QuantTimer qt;
  Scratch& S = scratch();
  S.xq.resize(T * in);
  S.xs.resize(ceil_div(T, kQuantTile) * ceil_div(in, kQuantTile));
  return quant_weight(x, T, in, false, S.xq.data(), S.xs.data());
}

}  // namespace

bool fp8_grad_scale(const float* dy, size_t n, float* c) {
  std::atomic<uint32_t> am{0};
  parallel_for(n, size_t{1} << 16, [&](size_t b, size_t e) {
    const uint32_t m = amax_bits_any(dy + b, e - b);
    uint32_t cur = am.load();
    while (m > cur && !am.compare_exchange_weak(cur, m)) {
    }
  });
  const uint32_t a = am.load();
  if (a >= 0x7F800000u) return false;
  // precision.ts gradScale: 2^-floor(log2(amax)) brings amax into [1, 2); 1 for all zeros.
  *c = a == 0 ? 1.0f : static_cast<float>(std::ldexp(1.0, -std::ilogb(bits_f32(a))));
  return true;
}

long long fp8_linear_forward(const float* x, size_t T, size_t K, const uint8_t* Wq, const float* Wsi, size_t N, float* y) {
  Scratch& S = scratch();
  {
    QuantTimer qt;
    S.aq.resize(T * K);
    S.as.resize(T * ceil_div(K, kQuantTile));
    const long long at = quant_act(x, T, K, false, S.aq.data(), S.as.data());
    if (at >= 0) return at;
  }
  fp8_gemm(S.aq.data(), S.as.data(), Wq, Wsi, T, N, K, OutType::F32, y);
  return -1;
}

double fp8_linear_quant_ms() { return static_cast<double>(g_quant_ns.exchange(0)) / 1e6; }

long long fp8_linear_backward(const float* dy, const float* x, size_t T, size_t out, size_t in, const uint8_t* Wq,
                              const float* Wsi, float* dx, float* dW, bool* bad_x) {
  *bad_x = false;
  if (!T || !out || !in) return -1;
  if (dW) {
    const long long at = quant_x(x, T, in);
    if (at >= 0) {
      *bad_x = true;
      return at;
    }
  }
  Scratch& S = scratch();
  return linear_core(dy, T, out, in, Wq, Wsi, S.xq.data(), S.xs.data(), dx, dW);
}

long long fp8_experts_backward(const float* x, size_t in, const int32_t* off, size_t E, size_t P,
                               const float* const* dy, size_t out, const uint8_t* const* Wq, const float* const* Wsi,
                               float* dx, float* const* dW, bool* bad_x) {
  *bad_x = false;
  const size_t nb = ceil_div(out, kQuantTile) * ceil_div(in, kQuantTile);
  // One expert per chunk, its quantisations and GEMMs on that thread (the pool runs nested calls inline): experts
  // are independent (their own rows of dx, their own dW), and a few hundred small GEMMs do not each pay the pool's
  // wake-ups. The first error by expert order is reported.
  std::vector<long long> bad(E, -1);
  std::vector<char> in_x(E, 0);
  parallel_for(E, 1, [&](size_t e0, size_t e1) {
    t_own_clock = num_threads() > 1;
    Scratch& S = scratch();
    for (size_t e = e0; e < e1; ++e) {
      const size_t r0 = static_cast<size_t>(off[e]), n = static_cast<size_t>(off[e + 1]) - r0;
      if (!n) continue;
      const long long at = quant_x(x + r0 * in, n, in);
      if (at >= 0) {
        bad[e] = static_cast<long long>(r0 * in) + at;
        in_x[e] = 1;
        continue;
      }
      for (size_t p = 0; p < P && bad[e] < 0; ++p) {
        const long long b = linear_core(dy[p] + r0 * out, n, out, in, Wq[p] + e * out * in, Wsi[p] + e * nb,
                                        S.xq.data(), S.xs.data(), dx + r0 * in, dW[p * E + e]);
        if (b >= 0) bad[e] = static_cast<long long>(r0 * out) + b;
      }
    }
    t_own_clock = false;
  });
  for (size_t e = 0; e < E; ++e)
    if (bad[e] >= 0) {
      *bad_x = in_x[e] != 0;
      return bad[e];
    }
  return -1;
}

}  // namespace moe

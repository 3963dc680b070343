#include "peak.h"

#include <atomic>
#include <chrono>

#include "cpu.h"

namespace moe {

namespace {
// Runs loop on every pool thread until ~seconds elapse; returns total FLOPs / elapsed.
double measure(double (*loop)(long), double seconds) {
  long iters = 1000;
  for (;;) {  // calibrate single-threaded
    auto t0 = std::chrono::steady_clock::now();
    loop(iters);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > seconds / 10 || iters > (1L << 40)) break;
    iters *= 4;
  }
  const int T = num_threads();
  std::atomic<double> flops{0};
  auto t0 = std::chrono::steady_clock::now();
  parallel_for(static_cast<size_t>(T), 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      double f = 0;
      for (int r = 0; r < 10; ++r) f += loop(iters);
      double cur = flops.load();
      while (!flops.compare_exchange_weak(cur, cur + f)) {
      }
    }
  });
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return flops.load() / s / 1e9;
}
}  // namespace

double peak_fma_gflops(double seconds) {
  KernelPath p = detected_path();
  if (p >= KernelPath::Avx512) return measure(peak::fma_avx512_loop, seconds);
  if (p == KernelPath::Avx2) return measure(peak::fma_avx2_loop, seconds);
  return 0;
}

double peak_amx_bf16_gflops(double seconds) {
  if (detected_path() != KernelPath::Amx) return 0;
  return measure(peak::amx_bf16_loop, seconds);
}

}  // namespace moe

// Machine peak probes for the benchmarks: register-only loops of the instructions the GEMMs use.
// No V8/nan here.
#pragma once

namespace moe {

// GFLOP/s of `threads` pool threads each running dependent-free chains for about `seconds`.
// fp32 FMA (AVX-512 zmm, or AVX2 ymm on CPUs without AVX-512); AMX TDPBF16PS (0 without AMX).
double peak_fma_gflops(double seconds);
double peak_amx_bf16_gflops(double seconds);

namespace peak {
double fma_avx512_loop(long iters);   // returns FLOPs done
double fma_avx2_loop(long iters);
double amx_bf16_loop(long iters);
}  // namespace peak

}  // namespace moe

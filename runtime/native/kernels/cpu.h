// CPU feature dispatch and the worker pool shared by every kernel. No V8/nan here.
#pragma once
#include <cstddef>
#include <functional>

namespace moe {

// Which implementation family a kernel call uses. Reference is the scalar oracle.
// Avx2 = AVX2+FMA+F16C; Avx512 = AVX-512 F/BW/VL + FMA; Amx adds AMX-BF16 tiles for the GEMMs
// (every other kernel runs its AVX-512 code under Amx).
enum class KernelPath { Reference = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };

// Best path this CPU supports (ignores the override).
KernelPath detected_path();
// Path in force: MOE_KERNELS=reference|avx2|avx512|amx at load time, or set_kernel_path().
KernelPath current_path();
// Returns false if the CPU cannot run `p`.
bool set_kernel_path(KernelPath p);
const char* path_name(KernelPath p);

// Runs fn(begin, end) over [0, n) split into chunks of at least `grain` items on the pool.
// Calls are serialised: concurrent callers (main thread and async workers) take turns.
void parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);
int num_threads();

}  // namespace moe

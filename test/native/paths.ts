// The kernel paths this CPU can run, best first; tests run each against the oracle.
import { kernelInfo, setKernelPath, type KernelPathName } from '../../runtime/src/native/index.js';

export function availablePaths(): KernelPathName[] {
  const order: KernelPathName[] = ['amx', 'avx512', 'avx2', 'reference'];
  const best = order.indexOf(kernelInfo().detected);
  return order.slice(best);
}

/** Paths with distinct code for the non-GEMM kernels ('amx' runs the AVX-512 code outside GEMMs). */
export function nonGemmPaths(): KernelPathName[] {
  return availablePaths().filter((p) => p !== 'amx');
}

/** Runs fn with `path` forced, restoring the previous path afterwards. */
export function withPath<T>(path: KernelPathName, fn: () => T): T {
  const before = kernelInfo().path;
  setKernelPath(path);
  try {
    return fn();
  } finally {
    setKernelPath(before);
  }
}

// The native FP8/MoE kernels as the model and trainer use them.
import { binding, type KernelPathName } from './binding.js';

export { addonPath, type KernelPathName } from './binding.js';
export * from './codec.js';
export * from './quant.js';
export * from './gemm.js';
export * from './ops.js';
export * from './routing.js';
export * from './attention.js';
export * from './serve-ops.js';

/** Which implementation runs ('reference' is the scalar oracle), what the CPU supports, pool size. */
export function kernelInfo(): { path: KernelPathName; detected: KernelPathName; threads: number } {
  return binding().kernelInfo();
}

/** Switches the implementation for later calls (tests compare paths); throws if the CPU lacks it. */
export function setKernelPath(path: KernelPathName): void {
  if (path !== 'reference' && path !== 'avx2' && path !== 'avx512' && path !== 'amx') {
    throw new TypeError(`setKernelPath: path must be 'reference', 'avx2', 'avx512' or 'amx', got ${String(path)}`);
  }
  binding().setKernelPath(path);
}

/** Benchmarks only: machine peak GFLOP/s over all pool threads (fp32 FMA; AMX BF16, 0 without AMX). Blocks ~2x seconds. */
export function measurePeak(seconds = 0.3): { fmaFp32: number; amxBf16: number } {
  if (typeof seconds !== 'number' || !(seconds > 0 && seconds <= 10)) {
    throw new RangeError(`measurePeak: seconds must be in (0, 10], got ${String(seconds)}`);
  }
  return binding().measurePeak(seconds);
}

// Shared helpers for bench/kernels: timing, the Python peer, result files.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { kernelInfo } from '../../runtime/src/native/index.js';
import { writeResult as writeShared } from '../result-file.js';

export const PYTHON = process.env.MOE_PYTHON ?? '/work/main/.tools/pyenv/bin/python';
const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');

export interface Timing {
  /** Best and median wall-clock seconds. */
  best: number;
  median: number;
  /** Best process CPU seconds (user + system, all threads): robust when other work shares the machine. */
  cpuBest: number;
}

/** Times `repeats` runs after one warm-up. */
export async function time(fn: () => unknown | Promise<unknown>, repeats: number): Promise<Timing> {
  await fn();
  const t: number[] = [], c: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1e3);
    const cu = process.cpuUsage(c0);
    c.push((cu.user + cu.system) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { best: t[0]!, median: t[Math.floor(t.length / 2)]!, cpuBest: Math.min(...c) };
}

/**
 * Runs bench/kernels/peer.py. The peer gets OPENBLAS_NUM_THREADS = threads and, in its environment
 * only, no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (these machines set them, forcing an older kernel).
 */
export function peer(args: string[], threads: number): Record<string, unknown> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const out = execFileSync(PYTHON, [path.join(REPO, 'bench/kernels/peer.py'), ...args], { env, maxBuffer: 1 << 20 });
  return JSON.parse(out.toString()) as Record<string, unknown>;
}

/** The kernel benches' machine fields beyond the shared ones: the kernel path and the thread and OpenBLAS settings. */
function kernelMachine(): Record<string, unknown> {
  return {
    kernels: kernelInfo(),
    moeNumThreads: process.env.MOE_NUM_THREADS ?? null,
    envOverridesSeen: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null },
  };
}

export function writeResult(name: string, result: Record<string, unknown>): string {
  return writeShared(name, result, kernelMachine());
}

export function randomF32(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 4;
  }
  return out;
}

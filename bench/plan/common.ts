// Shared helpers of the planner benchmarks: repo root, timing, result file.
export { repoRoot, writeResult } from '../result-file.js';

/** Median wall time (ms) of `runs` calls after `warmup` calls. */
export function medianMs(fn: () => unknown, runs: number, warmup = 2): { medianMs: number; minMs: number; runs: number } {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { medianMs: +t[Math.floor(t.length / 2)]!.toFixed(2), minMs: +t[0]!.toFixed(2), runs };
}


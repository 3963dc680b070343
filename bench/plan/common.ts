// Shared helpers of the planner benchmarks: repo root, timing, result file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/plan/x.js → repository root. */
export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

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

export function writeResult(name: string, body: Record<string, unknown>): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ bench: name, date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, ...body }, null, 2) + '\n');
  return file;
}

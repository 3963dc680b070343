// Where a training step's time goes, by part: the bench's breakdown (bench/train/train.bench.ts). Exclusive timing: a
// part entered inside another pauses the outer one, so the parts add up to the step. Off unless a caller turns it on;
// then each enter/leave costs two clock reads. The clock is wall time, or the process's CPU time ('cpu': every thread,
// so the kernel pool's and the garbage collector's too), which the other load on a shared machine disturbs far less.
export const PARTS = ['gemm', 'quant', 'ops', 'attention', 'optimizer', 'data', 'comm', 'other'] as const;
export type Part = (typeof PARTS)[number];

const idx: Record<Part, number> = Object.fromEntries(PARTS.map((p, i) => [p, i])) as Record<Part, number>;
const totals = new Float64Array(PARTS.length);
const stack: number[] = [];
let on = false;
let cur = idx.other;
let since = 0;
const wall = (): number => performance.now();
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let clock = wall;

export function profiling(enable: boolean, by: 'wall' | 'cpu' = 'wall'): void {
  on = enable;
  clock = by === 'cpu' ? cpuMs : wall;
  stack.length = 0;
  cur = idx.other;
  since = clock();
}

/** Milliseconds (of the clock) per part since the last call (or since profiling was turned on), and resets them. */
export function takeProfile(): Record<Part, number> {
  if (on) {
    const now = clock();
    totals[cur] += now - since;
    since = now;
  }
  const out = Object.fromEntries(PARTS.map((p, i) => [p, totals[i]])) as Record<Part, number>;
  totals.fill(0);
  return out;
}

export function enter(p: Part): void {
  if (!on) return;
  const now = clock();
  totals[cur] += now - since;
  since = now;
  stack.push(cur);
  cur = idx[p];
}

export function leave(): void {
  if (!on) return;
  const now = clock();
  totals[cur] += now - since;
  since = now;
  cur = stack.pop() ?? idx.other;
}

/** Moves ms the current part has counted to part p (a native call that timed its own quantisation). */
export function recharge(p: Part, ms: number): void {
  if (!on || !(ms > 0)) return;
  const now = clock();
  totals[cur] += now - since - ms;
  since = now;
  totals[idx[p]] += ms;
}

/** f() counted as part p. */
export function timed<R>(p: Part, f: () => R): R {
  if (!on) return f();
  enter(p);
  try {
    return f();
  } finally {
    leave();
  }
}

// AdamW with FP32 master weights (the parameters themselves), BF16 moments and float32 arithmetic (REFERENCE.md §2),
// global-norm gradient clipping, and the warm-up + cosine learning-rate schedule.
import type { Params } from '../model/params.js';
import { adamwBf16, scaleInPlace, sumSquares } from '../native/train-ops.js';

export interface AdamWConfig {
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clip: number;
}

export const ADAMW_DEFAULTS: Omit<AdamWConfig, 'totalSteps'> = {
  lr: 2.2e-4,
  minLr: 2.2e-5,
  warmupSteps: 2000,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clip: 1.0,
};

/** Learning rate at `step` (0-based): linear warm-up to lr, then cosine decay to minLr at totalSteps. */
export function learningRate(c: AdamWConfig, step: number): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const span = Math.max(1, c.totalSteps - c.warmupSteps);
  const p = Math.min(1, (step - c.warmupSteps) / span);
  return c.minLr + 0.5 * (c.lr - c.minLr) * (1 + Math.cos(Math.PI * p));
}

/** init + Σ x² in float64, element i into lane i % 8, the lanes summed in a fixed tree: the native kernel's order. */
export function sumSquaresRef(x: ArrayLike<number>, init = 0): number {
  const l = new Float64Array(8);
  for (let i = 0; i < x.length; i++) l[i & 7] += x[i] * x[i];
  return init + (((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
}

const scratchBufs: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

/** Reused f32 buffers (the moments of the largest parameter), so an update allocates nothing. */
function scratch(i: number, n: number): Float32Array {
  if (scratchBufs[i].length < n) scratchBufs[i] = new Float32Array(n);
  return scratchBufs[i];
}

export class AdamW {
  /** BF16 bit patterns, one pair of arrays per parameter, in Params order. */
  readonly m = new Map<string, Uint16Array>();
  readonly v = new Map<string, Uint16Array>();

  /** native: the update and clipping on the addon's kernels (float32 parameters; the same arithmetic). */
  constructor(readonly params: Params, readonly cfg: AdamWConfig, readonly native = false) {
    for (const p of params.list()) {
      this.m.set(p.name, new Uint16Array(p.data.length));
      this.v.set(p.name, new Uint16Array(p.data.length));
    }
  }

  /** Scales gradients so their global L2 norm is at most clip; returns the norm before clipping. */
  clipGrads(): number {
    let ss = 0;
    for (const p of this.params.list()) {
      if (this.native && p.grad instanceof Float32Array) ss = sumSquares(p.grad, ss);
      else ss = sumSquaresRef(p.grad, ss);
    }
    const norm = Math.sqrt(ss);
    if (this.cfg.clip > 0 && norm > this.cfg.clip) {
      const f = this.cfg.clip / norm;
      for (const p of this.params.list()) {
        if (this.native && p.grad instanceof Float32Array) scaleInPlace(p.grad, f);
        else for (let i = 0; i < p.grad.length; i++) p.grad[i] *= f;
      }
    }
    return norm;
  }

  /** One update; `step` is 0-based (bias correction uses step+1). */
  update(step: number, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - beta1 ** (step + 1);
    const bc2 = 1 - beta2 ** (step + 1);
    for (const p of this.params.list()) {
      const m = this.m.get(p.name)!;
      const v = this.v.get(p.name)!;
      const wd = p.decay ? weightDecay : 0;
      if (this.native && p.data instanceof Float32Array && p.grad instanceof Float32Array) {
        adamwBf16(p.data, p.grad, m, v, lr, beta1, beta2, eps, wd, bc1, bc2);
        continue;
      }
      const n = p.data.length;
      // Moments widen to f32 (exact), update in float32 — every operation rounded as the native kernel's (no FMA) —
      // narrow back to BF16 with round-to-nearest-even, all through integer views so the loop stays free of calls.
      const mf = scratch(0, n);
      const vf = scratch(1, n);
      const mu = new Uint32Array(mf.buffer, 0, n);
      const vu = new Uint32Array(vf.buffer, 0, n);
      for (let i = 0; i < n; i++) {
        mu[i] = m[i] << 16;
        vu[i] = v[i] << 16;
      }
      const f = Math.fround;
      const b1 = f(beta1), c1 = f(1 - beta1), b2 = f(beta2), c2 = f(1 - beta2), lr32 = f(lr), eps32 = f(eps), wd32 = f(wd);
      const bc1f = f(bc1), bc2f = f(bc2);
      const d = p.data;
      const g = p.grad;
      for (let i = 0; i < n; i++) {
        const gi = f(g[i]);
        const mi = f(f(b1 * mf[i]) + f(c1 * gi));
        const vi = f(f(b2 * vf[i]) + f(f(c2 * gi) * gi));
        mf[i] = mi;
        vf[i] = vi;
        const wi = f(d[i]);
        const den = f(f(Math.sqrt(f(vi / bc2f))) + eps32);
        d[i] = f(wi - f(lr32 * f(f(f(mi / bc1f) / den) + f(wd32 * wi))));
      }
      for (let i = 0; i < n; i++) {
        const a = mu[i];
        const b = vu[i];
        m[i] = (a & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : ((a + 0x7fff + ((a >>> 16) & 1)) >>> 16) & 0xffff;
        v[i] = (b & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
      }
    }
  }
}

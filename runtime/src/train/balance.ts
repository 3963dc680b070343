// Auxiliary-loss-free balancing (REFERENCE.md §1): after each step, every router's bias moves by γ against its
// expert's load relative to the mean over the step's batch.
import type { Params } from '../model/params.js';

export function updateBiases(P: Params, counts: Map<string, Int32Array>, gamma: number): void {
  if (gamma === 0) return;
  for (const [prefix, c] of counts) {
    const bias = P.buffer(`${prefix}.gate.e_score_correction_bias`);
    let total = 0;
    for (let e = 0; e < c.length; e++) total += c[e];
    const mean = total / c.length;
    for (let e = 0; e < c.length; e++) {
      if (c[e] > mean) bias[e] -= gamma;
      else if (c[e] < mean) bias[e] += gamma;
    }
  }
}

/** max(bias) − min(bias) per router: how far balancing has had to push. */
export function biasSpread(P: Params): number {
  let spread = 0;
  for (const b of P.buffers.values()) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < b.length; i++) {
      lo = Math.min(lo, b[i]);
      hi = Math.max(hi, b[i]);
    }
    spread = Math.max(spread, hi - lo);
  }
  return spread;
}

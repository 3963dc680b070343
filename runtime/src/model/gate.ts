// DeepSeek-V3 gate (REFERENCE.md §1, "Router, exactly"): sigmoid scores; the bias only chooses; groups ranked by
// the sum of their top-2 biased scores; top-k experts inside the kept groups; weights = unbiased scores normalised
// over the chosen experts × routed_scaling_factor. Ties go to the lower index, so routing is deterministic.
import { sigmoid, type Vec } from './tensor.js';

export interface RouteResult {
  /** [T, K] expert ids, ordered by biased score (best first). */
  idx: Int32Array;
  /** [T, K] combine weights. */
  weight: Float64Array;
  /** [T, E] sigmoid scores. */
  scores: Float64Array;
  /** Tokens routed to each expert. */
  counts: Int32Array;
}

export interface RouteShape {
  E: number;
  K: number;
  groups: number;
  topkGroup: number;
  scale: number;
}

export function route(logits: Vec, bias: Vec, T: number, r: RouteShape): RouteResult {
  const { E, K, groups, topkGroup, scale } = r;
  const per = E / groups;
  const idx = new Int32Array(T * K);
  const weight = new Float64Array(T * K);
  const scores = new Float64Array(T * E);
  const counts = new Int32Array(E);
  const biased = new Float64Array(E);
  const gScore = new Float64Array(groups);
  const keep = new Uint8Array(groups);
  const taken = new Uint8Array(E);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) {
      const s = sigmoid(logits[t * E + e]);
      scores[t * E + e] = s;
      biased[e] = s + bias[e];
    }
    for (let g = 0; g < groups; g++) {
      let a = -Infinity;
      let b = -Infinity;
      for (let e = g * per; e < (g + 1) * per; e++) {
        if (biased[e] > a) {
          b = a;
          a = biased[e];
        } else if (biased[e] > b) b = biased[e];
      }
      gScore[g] = per >= 2 ? a + b : a;
    }
    keep.fill(0);
    for (let n = 0; n < topkGroup; n++) {
      let best = -1;
      for (let g = 0; g < groups; g++) if (!keep[g] && (best < 0 || gScore[g] > gScore[best])) best = g;
      keep[best] = 1;
    }
    taken.fill(0);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      let best = -1;
      for (let e = 0; e < E; e++) {
        if (taken[e] || !keep[Math.floor(e / per)]) continue;
        if (best < 0 || biased[e] > biased[best]) best = e;
      }
      taken[best] = 1;
      idx[t * K + k] = best;
      counts[best]++;
      sum += scores[t * E + best];
    }
    for (let k = 0; k < K; k++) weight[t * K + k] = (scores[t * E + idx[t * K + k]] / sum) * scale;
  }
  return { idx, weight, scores, counts };
}

/**
 * Gradient of the router logits from the gradient of the combine weights (and, optionally, extra gradient on the
 * scores, e.g. from the balance loss). w_k = c·s_k / Σ_j s_j over the chosen experts.
 */
export function routeBackward(r: RouteResult, dWeight: Float64Array, dScoresExtra: Float64Array | undefined, T: number, shape: RouteShape): Float64Array {
  const { E, K, scale } = shape;
  const dlogits = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    let dot = 0;
    for (let k = 0; k < K; k++) {
      const s = r.scores[t * E + r.idx[t * K + k]];
      sum += s;
      dot += dWeight[t * K + k] * s;
    }
    for (let k = 0; k < K; k++) {
      const e = r.idx[t * K + k];
      dlogits[t * E + e] += (scale / sum) * (dWeight[t * K + k] - dot / sum);
    }
    if (dScoresExtra) for (let e = 0; e < E; e++) dlogits[t * E + e] += dScoresExtra[t * E + e];
    for (let e = 0; e < E; e++) {
      const s = r.scores[t * E + e];
      dlogits[t * E + e] *= s * (1 - s);
    }
  }
  return dlogits;
}

/**
 * Sequence-wise balance loss α·Σ_i f_i·P_i averaged over the B sequences (f_i = E/(K·S)·count of i in the sequence,
 * P_i = mean over the sequence of s_i / Σ_j s_j) and its gradient on the scores (f is a count: no gradient).
 */
export function balanceLoss(r: RouteResult, T: number, S: number, E: number, K: number, alpha: number): { loss: number; dScores: Float64Array } {
  const B = T / S;
  const dScores = new Float64Array(T * E);
  const f = new Float64Array(E);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    f.fill(0);
    for (let t = b * S; t < (b + 1) * S; t++) for (let k = 0; k < K; k++) f[r.idx[t * K + k]] += E / (K * S);
    for (let t = b * S; t < (b + 1) * S; t++) {
      let n = 0;
      for (let e = 0; e < E; e++) n += r.scores[t * E + e];
      let fs = 0;
      for (let e = 0; e < E; e++) {
        const s = r.scores[t * E + e];
        loss += (alpha / B) * f[e] * (s / n) / S;
        fs += f[e] * s;
      }
      for (let e = 0; e < E; e++) dScores[t * E + e] = ((alpha / B) / S) * (f[e] / n - fs / (n * n));
    }
  }
  return { loss, dScores };
}

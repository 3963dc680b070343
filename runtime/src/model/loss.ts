// Mean cross-entropy over rows of logits [T, V] and its gradient scaled by `weight`.
import type { Alloc, Vec } from './tensor.js';
import { enter, leave, timed } from './profile.js';
import { crossEntropyNative } from '../native/train-ops.js';

export function crossEntropy(logits: Vec, targets: ArrayLike<number>, T: number, V: number, weight: number, alloc: Alloc, native = false): { loss: number; dlogits: Vec } {
  // native: on the addon (float32 logits; the training path in fp8/bf16).
  if (native && logits instanceof Float32Array) return timed('ops', () => crossEntropyNative(logits, targets instanceof Int32Array ? targets : Int32Array.from(targets), T, V, weight));
  enter('ops');
  const dlogits = alloc(T * V);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    const o = t * V;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > mx) mx = logits[o + v];
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[o + v] - mx);
    const tgt = targets[t];
    if (!(tgt >= 0 && tgt < V)) throw new Error(`crossEntropy: target ${tgt} at row ${t} is outside the vocabulary [0, ${V})`);
    loss += mx + Math.log(z) - logits[o + tgt];
    for (let v = 0; v < V; v++) dlogits[o + v] = (Math.exp(logits[o + v] - mx) / z) * (weight / T);
    dlogits[o + tgt] -= weight / T;
  }
  leave();
  return { loss: loss / T, dlogits };
}

/** A per-token objective's value on a batch and dL/dlogp for each row. */
export interface TokenLossResult {
  loss: number;
  dlogp: Float64Array;
}

/**
 * A per-token objective in place of mean cross-entropy: it sees the model's log-probability of each row's target
 * token (after the log-softmax) and returns its value and dL/dlogp; the model turns that into
 * dL/dlogits_t = dL/dlogp_t · (onehot_t − softmax_t). Masked SFT cross-entropy is dL/dlogp_t = −mask_t / count;
 * GRPO's clipped ratio with a KL penalty is another. Rows are the batch's B windows × S positions, row-major.
 */
export interface TokenObjective {
  /** The main head: logp [B·S] of token i+1 at row (b, i). */
  main(logp: Float64Array): TokenLossResult;
  /** MTP module k (0-based): logp of token i+k+2 at row (b, i). Absent: the MTP modules do not run (their loss is 0). */
  mtp?(k: number, logp: Float64Array): TokenLossResult;
  /**
   * The objective on windows [from, to) of this batch, for an engine that runs a slice (a data-parallel rank, a
   * micro-batch). Engines average the slices' values and gradients (1/C per micro-batch, 1/DP over replicas), so a
   * slice of n windows out of B is scaled by B/n: the mean over equal slices is then the whole batch's objective.
   */
  slice(from: number, to: number): TokenObjective;
}

/**
 * log p(target_t) for each row of logits [T, V], and the backward from dL/dlogp: dlogits = weight · dlogp_t ·
 * (onehot_t − softmax_t). `weight` is the engine's share (1/C per micro-batch), as crossEntropy's.
 */
export function targetLogProbs(logits: Vec, targets: ArrayLike<number>, T: number, V: number): { logp: Float64Array; back(dlogp: Float64Array, weight: number, alloc: Alloc): Vec } {
  const logp = new Float64Array(T);
  const mxs = new Float64Array(T), logZ = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const o = t * V;
    let mx = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > mx) mx = logits[o + v];
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[o + v] - mx);
    const tgt = targets[t];
    if (!(tgt >= 0 && tgt < V)) throw new Error(`targetLogProbs: target ${tgt} at row ${t} is outside the vocabulary [0, ${V})`);
    mxs[t] = mx;
    logZ[t] = Math.log(z);
    logp[t] = logits[o + tgt] - mx - logZ[t];
  }
  return {
    logp,
    back(dlogp, weight, alloc) {
      if (dlogp.length !== T) throw new Error(`targetLogProbs: dlogp has ${dlogp.length} rows, expected ${T}`);
      const dlogits = alloc(T * V);
      for (let t = 0; t < T; t++) {
        const g = dlogp[t] * weight;
        if (g === 0) continue;
        const o = t * V;
        for (let v = 0; v < V; v++) dlogits[o + v] = -g * Math.exp(logits[o + v] - mxs[t] - logZ[t]);
        dlogits[o + targets[t]] += g;
      }
      return dlogits;
    },
  };
}

/** A per-token objective on logits [T, V]: its value and dlogits (scaled by `weight`), crossEntropy's shape. */
export function objectiveLoss(logits: Vec, targets: ArrayLike<number>, T: number, V: number, weight: number,
  f: (logp: Float64Array) => TokenLossResult, alloc: Alloc): { loss: number; dlogits: Vec } {
  const lp = targetLogProbs(logits, targets, T, V);
  const r = f(lp.logp);
  if (r.dlogp.length !== T) throw new Error(`token objective: dlogp has ${r.dlogp.length} rows, expected ${T}`);
  return { loss: r.loss, dlogits: lp.back(r.dlogp, weight, alloc) };
}

/**
 * Weighted cross-entropy L = −Σ_t w_t · logp_t over rows of S positions per window (SFT: w_t = mask_t / count over
 * the whole batch, so L is the mean over its loss tokens). mtp[k]: the weights of MTP module k's targets (the model
 * applies λ/D as for pre-training); absent: the MTP modules do not run.
 */
export function weightedCrossEntropy(w: Float64Array, S: number, mtp?: Float64Array[]): TokenObjective {
  if (!(S > 0) || w.length % S !== 0) throw new Error(`weighted cross-entropy: ${w.length} weights are not windows of ${S}`);
  const ce = (weights: Float64Array, logp: Float64Array): TokenLossResult => {
    if (logp.length !== weights.length) throw new Error(`weighted cross-entropy: ${logp.length} rows, weights for ${weights.length}`);
    const dlogp = new Float64Array(logp.length);
    let loss = 0;
    for (let t = 0; t < logp.length; t++) {
      if (weights[t] === 0) continue;
      loss -= weights[t] * logp[t];
      dlogp[t] = -weights[t];
    }
    return { loss, dlogp };
  };
  return {
    main: (logp) => ce(w, logp),
    ...(mtp ? { mtp: (k: number, logp: Float64Array) => ce(mtp[k]!, logp) } : {}),
    slice(from, to) {
      const B = w.length / S;
      if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= B)) throw new Error(`weighted cross-entropy: slice [${from}, ${to}) of ${B} windows`);
      const scale = B / (to - from);
      const cut = (x: Float64Array): Float64Array => x.slice(from * S, to * S).map((v) => v * scale);
      return weightedCrossEntropy(cut(w), S, mtp?.map(cut));
    },
  };
}

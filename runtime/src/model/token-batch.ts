// What one training step feeds the model besides its tokens: segment ids for packed sequences (attention and the MTP
// inputs stay inside a segment) and a per-token objective in place of mean cross-entropy (model/loss.ts). Engines
// that run part of the batch (a data-parallel rank, a pipeline micro-batch) cut all three with sliceBatch.
import type { TokenObjective } from './loss.js';

export interface TokenBatch {
  /** B windows of W = S+1+D tokens, row-major. */
  tokens: Int32Array;
  /** Segment id of every token [B·W]: a token attends only to earlier tokens of its own segment. Absent: one per window. */
  segments?: Int32Array;
  /** Absent: mean cross-entropy over every position (pre-training). */
  objective?: TokenObjective;
}

/** Windows [from, to) of a batch of windows of W tokens. */
export function sliceBatch(b: TokenBatch, W: number, from: number, to: number): TokenBatch {
  return {
    tokens: b.tokens.subarray(from * W, to * W),
    ...(b.segments ? { segments: b.segments.subarray(from * W, to * W) } : {}),
    ...(b.objective ? { objective: b.objective.slice(from, to) } : {}),
  };
}

/**
 * For each of the first S positions of each window, the position where its segment starts (segments are contiguous
 * runs of one id): attention at position i covers keys [start_i, i]. [B·S].
 */
export function segmentStarts(segments: Int32Array, B: number, W: number, S: number): Int32Array {
  if (segments.length !== B * W) throw new Error(`segments has length ${segments.length}, expected B·W = ${B}·${W}`);
  const out = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    let start = 0;
    for (let i = 0; i < S; i++) {
      if (i > 0 && segments[b * W + i] !== segments[b * W + i - 1]) start = i;
      out[b * S + i] = start;
    }
  }
  return out;
}

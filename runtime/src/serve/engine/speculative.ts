// Speculative decoding's two decisions, pure: how a draft token is chosen from the drafter's logits, and which drafts
// the target (main model) accepts. Greedy (temperature 0) drafts the drafter's argmax and accepts a draft exactly when
// it is the target's argmax, then emits the target's argmax: the tokens are those of plain greedy decoding. Sampling
// uses the standard rule (Leviathan et al. 2023, Chen et al. 2023): draft d ~ q, accept with probability
// min(1, p(d)/q(d)), at the first rejection emit a draw from norm(max(0, p − q)) and stop; after every draft is
// accepted emit a draw from the next target row. Each emitted token is then distributed exactly as p, the
// distribution plain decoding samples from (temperature and top-p applied to both p and q).
import type { Rng } from '../../model/rng.js';
import { argmax, distribution, drawFrom, sample } from './sampler.js';

export interface Draft {
  id: number;
  /** The drafter's distribution the id was drawn from (temperature > 0). */
  q?: Float64Array;
}

export interface SamplingShape {
  temperature: number;
  topP: number;
}

/** A draft token from the drafter's logits row; n: ids allowed. */
export function draftToken(logits: Float32Array, n: number, p: SamplingShape, rng: Rng): Draft {
  if (p.temperature === 0) return { id: argmax(logits, n) };
  const q = distribution(logits, n, p.temperature, p.topP);
  return { id: drawFrom(q, rng), q };
}

export interface Verdict {
  /** Drafts accepted (a prefix of them). */
  accepted: number;
  /** The tokens to emit: the accepted drafts, then the correction or the bonus token. */
  tokens: number[];
}

/**
 * rows: [drafts + 1, V] target logits; row j predicts the token at draft j's place (row drafts.length the one after
 * the last draft). Consumes the sequence's stream: one value per examined draft (sampling) and one per emitted
 * correction or bonus token; with no drafts it is exactly sample() on row 0.
 */
export function verifyDrafts(rows: Float32Array, V: number, n: number, drafts: Draft[], p: SamplingShape, rng: Rng): Verdict {
  const row = (j: number): Float32Array => rows.subarray(j * V, (j + 1) * V);
  const tokens: number[] = [];
  for (let j = 0; j < drafts.length; j++) {
    const d = drafts[j];
    if (p.temperature === 0) {
      const t = argmax(row(j), n);
      tokens.push(t);
      if (t !== d.id) return { accepted: j, tokens };
      continue;
    }
    const q = d.q;
    if (!q) throw new Error('verifyDrafts: a sampled draft needs the distribution it was drawn from');
    const target = distribution(row(j), n, p.temperature, p.topP);
    // q(d) > 0: d was drawn from q.
    if (rng.next() * q[d.id] < target[d.id]) {
      tokens.push(d.id);
      continue;
    }
    const residual = new Float64Array(n);
    let mass = 0;
    for (let v = 0; v < n; v++) {
      const r = target[v] - q[v];
      if (r > 0) {
        residual[v] = r;
        mass += r;
      }
    }
    // p = q up to rounding leaves no residual mass; the draw is then from p itself.
    tokens.push(drawFrom(mass > 0 ? residual : target, rng));
    return { accepted: j, tokens };
  }
  tokens.push(sample(row(drafts.length), n, p.temperature, p.topP, rng));
  return { accepted: drafts.length, tokens };
}

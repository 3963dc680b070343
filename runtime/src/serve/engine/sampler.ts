// Token sampling from one row of logits. Temperature 0 is greedy (ties to the lower id). Otherwise softmax at the
// temperature, the smallest set of most likely tokens whose mass reaches top_p (nucleus), and one draw from the
// sequence's own seeded Rng: every sampled token consumes exactly one draw, so a sequence is reproducible from its
// seed and a decode pod can resume a prefill pod's stream by skipping the draws the prefill made. `distribution` is
// the same nucleus as a probability vector (speculative decoding's rejection rule compares two of them).
import type { Rng } from '../../model/rng.js';

export function argmax(logits: Float32Array, n: number): number {
  let best = 0;
  for (let v = 1; v < n; v++) if (logits[v] > logits[best]) best = v;
  return best;
}

/** The nucleus at temperature > 0: unnormalised probabilities, the ids by probability, how many are kept, and their mass. */
function nucleus(logits: Float32Array, n: number, temperature: number, topP: number): { probs: Float64Array; z: number; order: number[]; kept: number; mass: number } {
  const best = argmax(logits, n);
  const probs = new Float64Array(n);
  let z = 0;
  for (let v = 0; v < n; v++) {
    const p = Math.exp((logits[v] - logits[best]) / temperature);
    probs[v] = p;
    z += p;
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < n) {
    mass += probs[order[kept++]] / z;
    if (mass >= topP) break;
  }
  return { probs, z, order, kept, mass };
}

/** logits: the row; n: ids allowed (the tokenizer may define fewer than vocab_size). */
export function sample(logits: Float32Array, n: number, temperature: number, topP: number, rng: Rng): number {
  if (temperature === 0) return argmax(logits, n);
  const { probs, z, order, kept, mass } = nucleus(logits, n, temperature, topP);
  const u = rng.next() * mass;
  let acc = 0;
  for (let i = 0; i < kept; i++) {
    acc += probs[order[i]] / z;
    if (u < acc) return order[i];
  }
  return order[kept - 1];
}

/** The distribution sample() draws from at temperature > 0, as probabilities over ids [0, n) (0 outside the nucleus). */
export function distribution(logits: Float32Array, n: number, temperature: number, topP: number): Float64Array {
  const { probs, z, order, kept, mass } = nucleus(logits, n, temperature, topP);
  const out = new Float64Array(n);
  for (let i = 0; i < kept; i++) out[order[i]] = probs[order[i]] / z / mass;
  return out;
}

/** One draw from a probability vector (sums to 1 up to rounding) with one value of the sequence's stream. */
export function drawFrom(p: Float64Array, rng: Rng): number {
  let total = 0;
  for (let v = 0; v < p.length; v++) total += p[v];
  const u = rng.next() * total;
  let acc = 0;
  let last = 0;
  for (let v = 0; v < p.length; v++) {
    if (p[v] <= 0) continue;
    acc += p[v];
    last = v;
    if (u < acc) return v;
  }
  return last;
}

// Token sampling from one row of logits. Temperature 0 is greedy (ties to the lower id). Otherwise softmax at the
// temperature, the smallest set of most likely tokens whose mass reaches top_p (nucleus), and one draw from the
// sequence's own seeded Rng: every sampled token consumes exactly one draw, so a sequence is reproducible from its
// seed and a decode pod can resume a prefill pod's stream by skipping the draws the prefill made.
import type { Rng } from '../../model/rng.js';

/** logits: the row; n: ids allowed (the tokenizer may define fewer than vocab_size). */
export function sample(logits: Float32Array, n: number, temperature: number, topP: number, rng: Rng): number {
  let best = 0;
  for (let v = 1; v < n; v++) if (logits[v] > logits[best]) best = v;
  if (temperature === 0) return best;
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
  const u = rng.next() * mass;
  let acc = 0;
  for (let i = 0; i < kept; i++) {
    acc += probs[order[i]] / z;
    if (u < acc) return order[i];
  }
  return order[kept - 1];
}

// Mean cross-entropy over rows of logits [T, V] and its gradient scaled by `weight`.
import type { Alloc, Vec } from './tensor.js';

export function crossEntropy(logits: Vec, targets: ArrayLike<number>, T: number, V: number, weight: number, alloc: Alloc): { loss: number; dlogits: Vec } {
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
  return { loss: loss / T, dlogits };
}

// The input of MTP module k at position i, shared by training (layer-range.ts) and the serving drafter
// (serve/engine/mtp.ts): eh_proj over the concatenation [RMSNorm_enorm(Emb(t_{i+k+1})); RMSNorm_hnorm(h^{k-1}_i)],
// embedding half first as DeepSeek-V3's MTP module (report §2.2) and its released weights' eh_proj [d, 2d] expect.
import type { Alloc, Vec } from './tensor.js';

/** Row-wise [ne | nh]: [T, 2d] from the normalised embeddings and hidden states (each [T, d]). */
export function mtpConcat(ne: Vec, nh: Vec, T: number, d: number, alloc: Alloc): Vec {
  const cat = alloc(T * 2 * d);
  for (let t = 0; t < T; t++) {
    cat.set(ne.subarray(t * d, t * d + d), t * 2 * d);
    cat.set(nh.subarray(t * d, t * d + d), t * 2 * d + d);
  }
  return cat;
}

/** The gradient of mtpConcat: dCat [T, 2d] → (dne, dnh), each [T, d]. */
export function mtpSplit(dCat: Vec, T: number, d: number, alloc: Alloc): { dne: Vec; dnh: Vec } {
  const dne = alloc(T * d), dnh = alloc(T * d);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < d; j++) {
      dne[t * d + j] = dCat[t * 2 * d + j];
      dnh[t * d + j] = dCat[t * 2 * d + d + j];
    }
  }
  return { dne, dnh };
}

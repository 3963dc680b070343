// Causal softmax attention for one (sequence, head) on contiguous float64 matrices: Q, K [S, dk], V [S, dv].
// The MLA layer gathers each head into these buffers so the inner loops run over contiguous memory. With `lo`
// (packed samples), query i attends to keys [lo[i], i] only: its own segment.

/**
 * P [S, S] (lower triangle: the probabilities the backward needs) and O [S, dv]. With rowStride 0, P is one [S] scratch
 * row reused by every query (inference keeps no probabilities; same operations, so the same O).
 */
export function coreForward(Q: Float64Array, K: Float64Array, V: Float64Array, S: number, dk: number, dv: number, scale: number, P: Float64Array, O: Float64Array, rowStride = S, lo?: Int32Array): void {
  O.fill(0, 0, S * dv);
  for (let i = 0; i < S; i++) {
    const qi = i * dk;
    const pi = i * rowStride;
    const j0 = lo ? lo[i] : 0;
    let mx = -Infinity;
    for (let j = j0; j <= i; j++) {
      const kj = j * dk;
      let s = 0;
      for (let e = 0; e < dk; e++) s += Q[qi + e] * K[kj + e];
      s *= scale;
      P[pi + j] = s;
      if (s > mx) mx = s;
    }
    let z = 0;
    for (let j = j0; j <= i; j++) {
      const p = Math.exp(P[pi + j] - mx);
      P[pi + j] = p;
      z += p;
    }
    const oi = i * dv;
    for (let j = j0; j <= i; j++) {
      const p = P[pi + j] / z;
      P[pi + j] = p;
      const vj = j * dv;
      for (let e = 0; e < dv; e++) O[oi + e] += p * V[vj + e];
    }
  }
}

/** From dO [S, dv]: dQ, dK [S, dk], dV [S, dv] (overwritten); `lo` as the forward's. */
export function coreBackward(Q: Float64Array, K: Float64Array, V: Float64Array, P: Float64Array, dO: Float64Array, S: number, dk: number, dv: number, scale: number, dQ: Float64Array, dK: Float64Array, dV: Float64Array, dp: Float64Array, lo?: Int32Array): void {
  dQ.fill(0, 0, S * dk);
  dK.fill(0, 0, S * dk);
  dV.fill(0, 0, S * dv);
  for (let i = 0; i < S; i++) {
    const pi = i * S;
    const oi = i * dv;
    const j0 = lo ? lo[i] : 0;
    let sum = 0;
    for (let j = j0; j <= i; j++) {
      const vj = j * dv;
      const p = P[pi + j];
      let s = 0;
      for (let e = 0; e < dv; e++) {
        const g = dO[oi + e];
        s += g * V[vj + e];
        dV[vj + e] += p * g;
      }
      dp[j] = s;
      sum += p * s;
    }
    const qi = i * dk;
    for (let j = j0; j <= i; j++) {
      const ds = P[pi + j] * (dp[j] - sum) * scale;
      if (ds === 0) continue;
      const kj = j * dk;
      for (let e = 0; e < dk; e++) {
        dQ[qi + e] += ds * K[kj + e];
        dK[kj + e] += ds * Q[qi + e];
      }
    }
  }
}

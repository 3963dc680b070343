// The training attention core in float64 (attention-core.ts) over B sequences and H heads, laid out as the native
// kernels take them: the one reference both train-ops.test.ts and train-row-ops.test.ts check the native core against.
import { coreBackward, coreForward } from '../../runtime/src/model/attention-core.js';

/** The attention core in float64 (attention-core.ts) over B sequences and H heads, in the native layout. */
export function attnRef(q: Float32Array, kv: Float32Array, kpe: Float32Array, dO: Float32Array, lo: Int32Array | undefined, B: number, S: number, H: number, dn: number, dr: number, dv: number, scale: number) {
  const qk = dn + dr, T = B * S;
  const o = new Float64Array(T * H * dv), dq = new Float64Array(T * H * qk), dkv = new Float64Array(T * H * (dn + dv)), dkpe = new Float64Array(T * dr);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const Q = new Float64Array(S * qk), K = new Float64Array(S * qk), V = new Float64Array(S * dv), O = new Float64Array(S * dv), G = new Float64Array(S * dv);
    for (let i = 0; i < S; i++) {
      const t = b * S + i;
      for (let e = 0; e < qk; e++) Q[i * qk + e] = q[t * H * qk + h * qk + e]!;
      for (let e = 0; e < dn; e++) K[i * qk + e] = kv[t * H * (dn + dv) + h * (dn + dv) + e]!;
      for (let e = 0; e < dr; e++) K[i * qk + dn + e] = kpe[t * dr + e]!;
      for (let e = 0; e < dv; e++) V[i * dv + e] = kv[t * H * (dn + dv) + h * (dn + dv) + dn + e]!;
      for (let e = 0; e < dv; e++) G[i * dv + e] = dO[t * H * dv + h * dv + e]!;
    }
    const P = new Float64Array(S * S), dQ = new Float64Array(S * qk), dK = new Float64Array(S * qk), dV = new Float64Array(S * dv);
    const seg = lo?.subarray(b * S, b * S + S);
    coreForward(Q, K, V, S, qk, dv, scale, P, O, S, seg);
    coreBackward(Q, K, V, P, G, S, qk, dv, scale, dQ, dK, dV, new Float64Array(S), seg);
    for (let i = 0; i < S; i++) {
      const t = b * S + i;
      for (let e = 0; e < dv; e++) o[t * H * dv + h * dv + e] = O[i * dv + e]!;
      for (let e = 0; e < qk; e++) dq[t * H * qk + h * qk + e] = dQ[i * qk + e]!;
      for (let e = 0; e < dn; e++) dkv[t * H * (dn + dv) + h * (dn + dv) + e] = dK[i * qk + e]!;
      for (let e = 0; e < dv; e++) dkv[t * H * (dn + dv) + h * (dn + dv) + dn + e] = dV[i * dv + e]!;
      for (let e = 0; e < dr; e++) dkpe[t * dr + e] += dK[i * qk + dn + e]!;
    }
  }
  return { o, dq, dkv, dkpe };
}

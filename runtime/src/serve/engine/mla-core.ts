// The absorbed MLA core for one (token, head) over the cached positions 0..last, in float64 like the training core:
// the engine's attention when the native addon is not built (fp32 engine only). Kept as a small monomorphic
// function (typed arrays of fixed kinds, 4-way unrolled dot products) so V8 compiles it to tight loops.

/** Σ a[ao+r]·b[bo+r], r < n. */
function dot(a: Float64Array, b: Float32Array, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let r = 0;
  for (; r + 3 < n; r += 4) {
    s0 += a[r] * b[bo + r];
    s1 += a[r + 1] * b[bo + r + 1];
    s2 += a[r + 2] * b[bo + r + 2];
    s3 += a[r + 3] * b[bo + r + 3];
  }
  for (; r < n; r++) s0 += a[r] * b[bo + r];
  return s0 + s1 + (s2 + s3);
}

/** acc[r] += c·b[bo+r], r < n. */
function axpy(acc: Float64Array, c: number, b: Float32Array | Float64Array, bo: number, n: number): void {
  for (let r = 0; r < n; r++) acc[r] += c * b[bo + r];
}

/**
 * q: the token's rotated query row (q_nope at qo, q_pe at qo+dn); kvb [H·(dn+dv), kr] with this head's k half at
 * row wk/kr; the cache's c_kv of position j at C[j·ldc ..+kr) and its k_pe at K[k0 + j·ldk ..+dr) (separate arrays:
 * ldc = kr, ldk = dr; one f32 row cache: C = K, ldc = ldk = kr+dr, k0 = kr); writes o[oo..oo+dv). qlat, olat [kr],
 * p [last+1] are scratch. The TypeScript fallback of the native kernel (runtime/native/kernels/mla.h).
 */
export function attendAbsorbed(q: Float32Array, qo: number, kvb: Float64Array, wk: number, C: Float32Array, K: Float32Array, last: number,
  kr: number, dn: number, dr: number, dv: number, scale: number, qlat: Float64Array, olat: Float64Array, qpe: Float64Array, p: Float64Array, o: Float32Array, oo: number,
  ldc = kr, ldk = dr, k0 = 0): void {
  qlat.fill(0);
  for (let e = 0; e < dn; e++) axpy(qlat, q[qo + e], kvb, wk + e * kr, kr);
  for (let e = 0; e < dr; e++) qpe[e] = q[qo + dn + e];
  let mx = -Infinity;
  for (let j = 0; j <= last; j++) {
    const sc = (dot(qlat, C, j * ldc, kr) + dot(qpe, K, k0 + j * ldk, dr)) * scale;
    p[j] = sc;
    if (sc > mx) mx = sc;
  }
  let z = 0;
  for (let j = 0; j <= last; j++) {
    const v = Math.exp(p[j] - mx);
    p[j] = v;
    z += v;
  }
  olat.fill(0);
  for (let j = 0; j <= last; j++) axpy(olat, p[j] / z, C, j * ldc, kr);
  const wv = wk + dn * kr;
  for (let e = 0; e < dv; e++) {
    const wo = wv + e * kr;
    let s0 = 0;
    let s1 = 0;
    let r = 0;
    for (; r + 1 < kr; r += 2) {
      s0 += kvb[wo + r] * olat[r];
      s1 += kvb[wo + r + 1] * olat[r + 1];
    }
    for (; r < kr; r++) s0 += kvb[wo + r] * olat[r];
    o[oo + e] = s0 + s1;
  }
}

// Row kernels of the serving engine's token-wise layers (runtime/native/kernels/serve_ops.h).
import { binding } from './binding.js';
import { array, dim } from './check.js';

/** out [T, n]: silu(y[t, g0+i]) · y[t, u0+i] over rows of width ld (a fused gate|up GEMM's output), fp32. */
export function siluMulRows(y: Float32Array, T: number, ld: number, g0: number, u0: number, n: number, into?: Float32Array): Float32Array {
  const fn = 'siluMulRows';
  const t = dim(fn, 'T', T), l = dim(fn, 'ld', ld), g = dim(fn, 'g0', g0), u = dim(fn, 'u0', u0), k = dim(fn, 'n', n);
  if (g + k > l || u + k > l) throw new RangeError(`${fn}: columns [g0, g0+n) = [${g}, ${g + k}) and [u0, u0+n) = [${u}, ${u + k}) must lie in a row of ld = ${l}`);
  array(fn, 'y', y, Float32Array, t * l, `T*ld = ${t}*${l}`);
  const out = into ? array(fn, 'into', into, Float32Array, t * k, `T*n = ${t}*${k}`) : new Float32Array(t * k);
  binding().siluMulRows(y, t, l, g, u, k, out);
  return out;
}

/** W [out, in] float32 → its transpose widened to float64 [in, out], the layout matmulTF64 reads. */
export function transposeF64(w: Float32Array, outF: number, inF: number): Float64Array {
  const fn = 'transposeF64';
  array(fn, 'w', w, Float32Array, dim(fn, 'out', outF) * dim(fn, 'in', inF), `out*in = ${outF}*${inF}`);
  const wt = new Float64Array(inF * outF);
  for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) wt[i * outF + o] = w[o * inF + i];
  return wt;
}

/**
 * y [T, out] = x [T, in] · Wᵀ with each output summed in float64 in input order and rounded to float32 once: the same
 * bits as the training code's matmulT (model/tensor.ts) on float32 arrays, vectorised across outputs.
 */
export function matmulTF64(x: Float32Array, wt: Float64Array, T: number, inF: number, outF: number): Float32Array {
  const fn = 'matmulTF64';
  const t = dim(fn, 'T', T), i = dim(fn, 'in', inF), o = dim(fn, 'out', outF);
  array(fn, 'x', x, Float32Array, t * i, `T*in = ${t}*${i}`);
  if (!(wt instanceof Float64Array) || wt.length !== i * o) throw new TypeError(`${fn}: wt must be a Float64Array of length in*out = ${i}*${o} (transposeF64)`);
  const y = new Float32Array(t * o);
  binding().matmulTF64(x, wt, t, i, o, y);
  return y;
}

/**
 * RMSNorm over T rows of width d with the training rmsnorm's bits (model/norm.ts: float64 sum of squares in order,
 * (x · r) · w in float64, rounded once). With `a`, normalises x + a (float32 add) and returns that sum too.
 */
export function rmsnormRows(x: Float32Array, w: Float32Array, T: number, d: number, eps: number, a?: Float32Array, alloc: (n: number) => Float32Array = (n) => new Float32Array(n)): { y: Float32Array; sum?: Float32Array } {
  const fn = 'rmsnormRows';
  const t = dim(fn, 'T', T), n = dim(fn, 'd', d);
  array(fn, 'x', x, Float32Array, t * n, `T*d = ${t}*${n}`);
  array(fn, 'w', w, Float32Array, n, `d = ${n}`);
  if (a) array(fn, 'a', a, Float32Array, t * n, `T*d = ${t}*${n}`);
  if (!(eps > 0)) throw new RangeError(`${fn}: eps must be > 0, got ${eps}`);
  const y = array(fn, 'y', alloc(t * n), Float32Array, t * n, `T*d = ${t}*${n}`);
  const sum = a ? array(fn, 'sum', alloc(t * n), Float32Array, t * n, `T*d = ${t}*${n}`) : undefined;
  binding().rmsnormRows(x, a ?? null, w, t, n, eps, sum ?? null, y);
  return { y, ...(sum ? { sum } : {}) };
}

/**
 * The MoE combine in the training layer's rounding order: y [T, d] = Σ over routed rows i (in order) of
 * weight[pairOf[i]] · ys[i] into row floor(pairOf[i] / K), float64 product and sum rounded to float32 per addition;
 * then + shared (float32) when given.
 */
export function moeCombineRows(ys: Float32Array, pairOf: Int32Array, weight: Float64Array, T: number, K: number, d: number, shared?: Float32Array, into?: Float32Array): Float32Array {
  const fn = 'moeCombineRows';
  const t = dim(fn, 'T', T), k = dim(fn, 'K', K), n = dim(fn, 'd', d);
  if (!(pairOf instanceof Int32Array)) throw new TypeError(`${fn}: pairOf must be an Int32Array`);
  const rows = pairOf.length;
  array(fn, 'ys', ys, Float32Array, rows * n, `rows*d = ${rows}*${n}`);
  if (!(weight instanceof Float64Array) || weight.length !== t * k) throw new TypeError(`${fn}: weight must be a Float64Array of T*K = ${t}*${k}`);
  if (shared) array(fn, 'shared', shared, Float32Array, t * n, `T*d = ${t}*${n}`);
  const y = into ? array(fn, 'into', into, Float32Array, t * n, `T*d = ${t}*${n}`) : new Float32Array(t * n);
  binding().moeCombineRows(ys, pairOf, weight, rows, k, n, shared ?? null, t, y);
  return y;
}

/** out [rows, d]: row floor(pairOf[i] / K) of x [T, d] for each routed row i. */
export function gatherPairRows(x: Float32Array, pairOf: Int32Array, T: number, K: number, d: number, into?: Float32Array): Float32Array {
  const fn = 'gatherPairRows';
  const t = dim(fn, 'T', T), k = dim(fn, 'K', K), n = dim(fn, 'd', d);
  if (!(pairOf instanceof Int32Array)) throw new TypeError(`${fn}: pairOf must be an Int32Array`);
  array(fn, 'x', x, Float32Array, t * n, `T*d = ${t}*${n}`);
  const out = into ? array(fn, 'into', into, Float32Array, pairOf.length * n, `rows*d = ${pairOf.length}*${n}`) : new Float32Array(pairOf.length * n);
  binding().gatherPairRows(x, pairOf, pairOf.length, k, n, t, out);
  return out;
}

/** a + b (float32). */
export function addRows(a: Float32Array, b: Float32Array, into?: Float32Array): Float32Array {
  const fn = 'addRows';
  array(fn, 'b', b, Float32Array, a.length, `a's length ${a.length}`);
  const out = into ? array(fn, 'into', into, Float32Array, a.length, `a's length ${a.length}`) : new Float32Array(a.length);
  binding().addRows(a, b, out);
  return out;
}

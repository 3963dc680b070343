// The serving layers' token-wise row operations — RMSNorm (alone or after a residual add), residual adds, the MoE's
// routed-row gather and combine — in the native row kernels (runtime/native/kernels/serve_ops.h), which give the
// training code's bits (so the fp32 engine still equals step()), or in TypeScript when the addon is not built. In
// JavaScript these loops, their float64 temporaries and allocations were about a third of a prefill step. Outputs
// come from the forward's scratch arena (scratch.ts).
import { rmsnorm } from '../../model/norm.js';
import { nativeAvailable } from '../../model/precision.js';
import { alloc32 } from '../../model/tensor.js';
import { addRows, gatherPairRows, moeCombineRows, rmsnormRows } from '../../native/index.js';
import { scratchF32 } from './scratch.js';

const scratch = new Float32Array(1);
// Whether the addon is built, asked once (nativeAvailable() stats the file on every call).
let nativeRows: boolean | undefined;
const native = (): boolean => (nativeRows ??= nativeAvailable());

/** RMSNorm of x [T, d] by w. */
export function norm(x: Float32Array, w: Float32Array, T: number, d: number, eps: number): Float32Array {
  if (native()) return rmsnormRows(x, w, T, d, eps, undefined, scratchF32).y;
  return rmsnorm(x, w, scratch, T, d, eps, alloc32).y as Float32Array;
}

/** h + a (the residual) and its RMSNorm by w. */
export function addNorm(h: Float32Array, a: Float32Array, w: Float32Array, T: number, d: number, eps: number): { sum: Float32Array; y: Float32Array } {
  if (native()) {
    const r = rmsnormRows(h, w, T, d, eps, a, scratchF32);
    return { sum: r.sum!, y: r.y };
  }
  const sum = add(h, a);
  return { sum, y: norm(sum, w, T, d, eps) };
}

/** a + b (float32). */
export function add(a: Float32Array, b: Float32Array): Float32Array {
  if (native()) return addRows(a, b, scratchF32(a.length));
  const y = new Float32Array(a.length);
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
  return y;
}

/** [rows, d]: row floor(pairOf[i] / K) of x [T, d] for each routed row i. */
export function gatherPairs(x: Float32Array, pairOf: Int32Array, T: number, K: number, d: number): Float32Array {
  if (native()) return gatherPairRows(x, pairOf, T, K, d, scratchF32(pairOf.length * d));
  const xs = new Float32Array(pairOf.length * d);
  for (let i = 0; i < pairOf.length; i++) {
    const t = Math.floor(pairOf[i] / K);
    xs.set(x.subarray(t * d, t * d + d), i * d);
  }
  return xs;
}

/** Σ weight[pair] · ys[i] into the pair's token row, routed rows in order (the training rounding), + shared. */
export function combinePairs(ys: Float32Array, pairOf: Int32Array, weight: Float64Array, T: number, K: number, d: number, shared?: Float32Array): Float32Array {
  if (native()) return moeCombineRows(ys, pairOf, weight, T, K, d, shared, scratchF32(T * d));
  const y = new Float32Array(T * d);
  for (let i = 0; i < pairOf.length; i++) {
    const t = Math.floor(pairOf[i] / K);
    const wt = weight[pairOf[i]];
    for (let j = 0; j < d; j++) y[t * d + j] += wt * ys[i * d + j];
  }
  if (shared) for (let i = 0; i < y.length; i++) y[i] += shared[i];
  return y;
}

// Row kernels of the serving engine's token-wise layers (runtime/native/kernels/serve_ops.h).
import { binding } from './binding.js';
import { array, dim } from './check.js';

/** out [T, n]: silu(y[t, g0+i]) · y[t, u0+i] over rows of width ld (a fused gate|up GEMM's output), fp32. */
export function siluMulRows(y: Float32Array, T: number, ld: number, g0: number, u0: number, n: number): Float32Array {
  const fn = 'siluMulRows';
  const t = dim(fn, 'T', T), l = dim(fn, 'ld', ld), g = dim(fn, 'g0', g0), u = dim(fn, 'u0', u0), k = dim(fn, 'n', n);
  if (g + k > l || u + k > l) throw new RangeError(`${fn}: columns [g0, g0+n) = [${g}, ${g + k}) and [u0, u0+n) = [${u}, ${u + k}) must lie in a row of ld = ${l}`);
  array(fn, 'y', y, Float32Array, t * l, `T*ld = ${t}*${l}`);
  const out = new Float32Array(t * k);
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

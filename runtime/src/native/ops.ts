// float32 model helpers: RMSNorm, SwiGLU, softmax, RoPE (row-major, threaded in the addon).
import { binding } from './binding.js';
import { array, dim, finite } from './check.js';

/** y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight; x [tokens, dim]. */
export function rmsnorm(x: Float32Array, weight: Float32Array, tokens: number, d: number, eps = 1e-6): Float32Array {
  const fn = 'rmsnorm';
  const T = dim(fn, 'tokens', tokens), D = dim(fn, 'dim', d);
  array(fn, 'x', x, Float32Array, T * D, `tokens*dim = ${T}*${D}`);
  array(fn, 'weight', weight, Float32Array, D, `dim = ${D}`);
  finite(fn, 'eps', eps, 0);
  const y = new Float32Array(T * D);
  binding().rmsnorm(x, weight, T, D, eps, y);
  return y;
}

/** silu(gate) * up, elementwise. */
export function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  const fn = 'swiglu';
  const n = array(fn, 'gate', gate, Float32Array, (gate as Float32Array)?.length ?? 0, 'any length').length;
  array(fn, 'up', up, Float32Array, n, `gate.length = ${n}`);
  const y = new Float32Array(n);
  binding().swiglu(gate, up, y);
  return y;
}

/** Row softmax of x [rows, cols]. */
export function softmax(x: Float32Array, rows: number, cols: number): Float32Array {
  const fn = 'softmax';
  const T = dim(fn, 'rows', rows), D = dim(fn, 'cols', cols);
  array(fn, 'x', x, Float32Array, T * D, `rows*cols = ${T}*${D}`);
  const y = new Float32Array(T * D);
  binding().softmax(x, T, D, y);
  return y;
}

/** Rotary embedding of x [tokens, heads, ropeDim] at positions pos [tokens]; interleaved pairs. */
export function rope(x: Float32Array, pos: Int32Array, tokens: number, heads: number, ropeDim: number, theta = 10000): Float32Array {
  const fn = 'rope';
  const T = dim(fn, 'tokens', tokens), H = dim(fn, 'heads', heads), Dr = dim(fn, 'ropeDim', ropeDim);
  if (Dr % 2 !== 0) throw new RangeError(`${fn}: ropeDim must be even, got ${Dr}`);
  finite(fn, 'theta', theta, 1);
  array(fn, 'x', x, Float32Array, T * H * Dr, `tokens*heads*ropeDim = ${T}*${H}*${Dr}`);
  array(fn, 'pos', pos, Int32Array, T, `tokens = ${T}`);
  const y = new Float32Array(T * H * Dr);
  binding().rope(x, pos, T, H, Dr, theta, y);
  return y;
}

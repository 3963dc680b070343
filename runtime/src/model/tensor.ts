// Flat row-major arrays and the few loops every layer shares. Vec is Float64Array on the reference path (gradient
// checks) and Float32Array on the training path; the layer code is the same for both.
import { axpy } from '../native/train-ops.js';
import { addRows } from '../native/serve-ops.js';

export type Vec = Float32Array | Float64Array;

export type Alloc = (n: number) => Vec;
export const alloc32: Alloc = (n) => new Float32Array(n);
export const alloc64: Alloc = (n) => new Float64Array(n);

/** y[T,out] = x[T,in] · W[out,in]ᵀ (+ into y when `acc`). */
export function matmulT(x: Vec, W: Vec, T: number, inF: number, outF: number, y: Vec, acc = false): void {
  for (let t = 0; t < T; t++) {
    const xo = t * inF;
    const yo = t * outF;
    for (let o = 0; o < outF; o++) {
      const wo = o * inF;
      let s = 0;
      for (let i = 0; i < inF; i++) s += x[xo + i] * W[wo + i];
      y[yo + o] = acc ? y[yo + o] + s : s;
    }
  }
}

/** dx[T,in] (+)= dy[T,out] · W[out,in]. */
export function matmulN(dy: Vec, W: Vec, T: number, outF: number, inF: number, dx: Vec): void {
  for (let t = 0; t < T; t++) {
    const xo = t * inF;
    for (let o = 0; o < outF; o++) {
      const g = dy[t * outF + o];
      if (g === 0) continue;
      const wo = o * inF;
      for (let i = 0; i < inF; i++) dx[xo + i] += g * W[wo + i];
    }
  }
}

/** dW[out,in] += dy[T,out]ᵀ · x[T,in]. */
export function matmulTN(dy: Vec, x: Vec, T: number, outF: number, inF: number, dW: Vec): void {
  for (let t = 0; t < T; t++) {
    const xo = t * inF;
    for (let o = 0; o < outF; o++) {
      const g = dy[t * outF + o];
      if (g === 0) continue;
      const wo = o * inF;
      for (let i = 0; i < inF; i++) dW[wo + i] += g * x[xo + i];
    }
  }
}

/** out[cols,rows] = in[rows,cols]ᵀ. */
export function transpose(a: Vec, rows: number, cols: number, out: Vec): Vec {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** dst += src; native: on the addon when both are float32 (the training path), the same sums. */
export function addInto(dst: Vec, src: Vec, native = false): void {
  if (native && dst instanceof Float32Array && src instanceof Float32Array) return axpy(dst, src, 1);
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/** a + b as a new array (alloc); native as addInto's. */
export function added(a: Vec, b: Vec, alloc: Alloc, native = false): Vec {
  const out = alloc(a.length);
  if (native && a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array) return addRows(a, b, out);
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Columns [c0, c0+w) of a [T, cols] matrix as a new [T, w] matrix. */
export function sliceCols(a: Vec, T: number, cols: number, c0: number, w: number, alloc: Alloc): Vec {
  const out = alloc(T * w);
  for (let t = 0; t < T; t++) for (let j = 0; j < w; j++) out[t * w + j] = a[t * cols + c0 + j];
  return out;
}

/** Adds a [T, w] matrix into columns [c0, c0+w) of a [T, cols] matrix. */
export function addCols(dst: Vec, T: number, cols: number, c0: number, w: number, src: Vec): void {
  for (let t = 0; t < T; t++) for (let j = 0; j < w; j++) dst[t * cols + c0 + j] += src[t * w + j];
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

// Fine-grained FP8 quantisation (REFERENCE.md section 2): 1x128 activation tiles, 128x128 weight blocks.
import { binding, callAsync } from './binding.js';
import { array, ceilDiv, dim } from './check.js';

export const QUANT_TILE = 128;

/** FP8 activations: q [rows, cols] E4M3 codes, scales [rows, ceil(cols/128)] (x = decode(q) * scale). */
export interface Fp8Activations {
  q: Uint8Array;
  scales: Float32Array;
  rows: number;
  cols: number;
}

/** FP8 weights: q [rows, cols], scaleInv [ceil(rows/128), ceil(cols/128)] (the checkpoint's `_scale_inv`). */
export interface Fp8Weights {
  q: Uint8Array;
  scaleInv: Float32Array;
  rows: number;
  cols: number;
}

export interface QuantOptions {
  /** Round each scale up to a power of two ("ue8m0"). Default false. */
  pow2?: boolean;
}

function pow2Arg(fn: string, o: QuantOptions): boolean {
  const p = o.pow2 ?? false;
  if (typeof p !== 'boolean') throw new TypeError(`${fn}: pow2 must be a boolean, got ${typeof p}`);
  return p;
}

function actArgs(fn: string, x: unknown, rows: unknown, cols: unknown, o: QuantOptions) {
  const m = dim(fn, 'rows', rows), k = dim(fn, 'cols', cols);
  const src = array(fn, 'x', x, Float32Array, m * k, `rows*cols = ${m}*${k}`);
  const out: Fp8Activations = { q: new Uint8Array(m * k), scales: new Float32Array(m * ceilDiv(k, QUANT_TILE)), rows: m, cols: k };
  return { src, out, pow2: pow2Arg(fn, o) };
}

function weightArgs(fn: string, w: unknown, rows: unknown, cols: unknown, o: QuantOptions) {
  const n = dim(fn, 'rows', rows), k = dim(fn, 'cols', cols);
  const src = array(fn, 'w', w, Float32Array, n * k, `rows*cols = ${n}*${k}`);
  const out: Fp8Weights = {
    q: new Uint8Array(n * k),
    scaleInv: new Float32Array(ceilDiv(n, QUANT_TILE) * ceilDiv(k, QUANT_TILE)),
    rows: n,
    cols: k,
  };
  return { src, out, pow2: pow2Arg(fn, o) };
}

/** Quantises row-major x [rows, cols] per 1x128 tile. Throws on NaN/inf input. */
export function quantizeActivations(x: Float32Array, rows: number, cols: number, opts: QuantOptions = {}, into?: { q: Uint8Array; scales: Float32Array }): Fp8Activations {
  const fn = 'quantizeActivations';
  if (into) {
    // The caller's buffers (reused memory), checked like a new one's shape.
    const m = dim(fn, 'rows', rows), k = dim(fn, 'cols', cols);
    const src = array(fn, 'x', x, Float32Array, m * k, `rows*cols = ${m}*${k}`);
    const out: Fp8Activations = { q: array(fn, 'into.q', into.q, Uint8Array, m * k, `rows*cols = ${m}*${k}`), scales: array(fn, 'into.scales', into.scales, Float32Array, m * ceilDiv(k, QUANT_TILE), `rows*ceil(cols/128)`), rows: m, cols: k };
    binding().quantAct(src, m, k, pow2Arg(fn, opts), out.q, out.scales);
    return out;
  }
  const { src, out, pow2 } = actArgs(fn, x, rows, cols, opts);
  binding().quantAct(src, out.rows, out.cols, pow2, out.q, out.scales);
  return out;
}

export async function quantizeActivationsAsync(x: Float32Array, rows: number, cols: number, opts: QuantOptions = {}): Promise<Fp8Activations> {
  const { src, out, pow2 } = actArgs('quantizeActivationsAsync', x, rows, cols, opts);
  await callAsync(binding().quantAct, [src, out.rows, out.cols, pow2, out.q, out.scales]);
  return out;
}

/** Quantises row-major w [rows, cols] per 128x128 block, into `into`'s buffers when given. Throws on NaN/inf input. */
export function quantizeWeights(w: Float32Array, rows: number, cols: number, opts: QuantOptions = {}, into?: Fp8Weights): Fp8Weights {
  if (into) {
    const fn = 'quantizeWeights';
    const v = checkWeights(fn, 'into', into);
    if (v.rows !== rows || v.cols !== cols) throw new RangeError(`${fn}: into is [${v.rows}, ${v.cols}], expected [${rows}, ${cols}]`);
    binding().quantWeight(array(fn, 'w', w, Float32Array, rows * cols, `rows*cols = ${rows}*${cols}`), rows, cols, pow2Arg(fn, opts), v.q, v.scaleInv);
    return v;
  }
  const { src, out, pow2 } = weightArgs('quantizeWeights', w, rows, cols, opts);
  binding().quantWeight(src, out.rows, out.cols, pow2, out.q, out.scaleInv);
  return out;
}

export async function quantizeWeightsAsync(w: Float32Array, rows: number, cols: number, opts: QuantOptions = {}): Promise<Fp8Weights> {
  const { src, out, pow2 } = weightArgs('quantizeWeightsAsync', w, rows, cols, opts);
  await callAsync(binding().quantWeight, [src, out.rows, out.cols, pow2, out.q, out.scaleInv]);
  return out;
}

export function checkActivations(fn: string, name: string, a: unknown): Fp8Activations {
  const v = a as Fp8Activations;
  if (typeof a !== 'object' || a === null) throw new TypeError(`${fn}: ${name} must be an Fp8Activations {q, scales, rows, cols}`);
  const m = dim(fn, `${name}.rows`, v.rows), k = dim(fn, `${name}.cols`, v.cols);
  array(fn, `${name}.q`, v.q, Uint8Array, m * k, `rows*cols = ${m}*${k}`);
  array(fn, `${name}.scales`, v.scales, Float32Array, m * ceilDiv(k, QUANT_TILE), `rows*ceil(cols/128) = ${m}*${ceilDiv(k, QUANT_TILE)}`);
  return v;
}

export function checkWeights(fn: string, name: string, w: unknown): Fp8Weights {
  const v = w as Fp8Weights;
  if (typeof w !== 'object' || w === null) throw new TypeError(`${fn}: ${name} must be an Fp8Weights {q, scaleInv, rows, cols}`);
  const n = dim(fn, `${name}.rows`, v.rows), k = dim(fn, `${name}.cols`, v.cols);
  const nb = ceilDiv(n, QUANT_TILE), kb = ceilDiv(k, QUANT_TILE);
  array(fn, `${name}.q`, v.q, Uint8Array, n * k, `rows*cols = ${n}*${k}`);
  array(fn, `${name}.scaleInv`, v.scaleInv, Float32Array, nb * kb, `ceil(rows/128)*ceil(cols/128) = ${nb}*${kb}`);
  return v;
}

/** decode(q) * scale per 1x128 tile -> float32 [rows, cols]. */
export function dequantizeActivations(a: Fp8Activations): Float32Array {
  const v = checkActivations('dequantizeActivations', 'a', a);
  const out = new Float32Array(v.rows * v.cols);
  binding().dequantAct(v.q, v.scales, v.rows, v.cols, out);
  return out;
}

/** decode(q) * scaleInv per 128x128 block -> float32 [rows, cols]. */
export function dequantizeWeights(w: Fp8Weights): Float32Array {
  const v = checkWeights('dequantizeWeights', 'w', w);
  const out = new Float32Array(v.rows * v.cols);
  binding().dequantWeight(v.q, v.scaleInv, v.rows, v.cols, out);
  return out;
}

/** quantizeWeights of E matrices w[e] [rows, cols] into one stack (each its own blocks; into: reused buffers): the MoE experts' weights. */
export function quantizeWeightsStacked(w: Float32Array[], rows: number, cols: number, into?: { q: Uint8Array; scaleInv: Float32Array }): { q: Uint8Array; scaleInv: Float32Array; experts: number; rows: number; cols: number } {
  const fn = 'quantizeWeightsStacked';
  const n = dim(fn, 'rows', rows), k = dim(fn, 'cols', cols), E = w.length;
  const q = into?.q ?? new Uint8Array(E * n * k), scaleInv = into?.scaleInv ?? new Float32Array(E * ceilDiv(n, QUANT_TILE) * ceilDiv(k, QUANT_TILE));
  (binding() as unknown as { quantWeightStacked(w: Float32Array[], n: number, k: number, pow2: boolean, q: Uint8Array, s: Float32Array): void }).quantWeightStacked(w, n, k, false, q, scaleInv);
  return { q, scaleInv, rows: n, cols: k, experts: E };
}

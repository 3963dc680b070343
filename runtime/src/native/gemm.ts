// FP8 block-scaled GEMM C = A . B^T (plain and grouped for MoE experts) and BF16 GEMM.
import { binding, callAsync, type KernelPathName } from './binding.js';
import { array, ceilDiv, dim } from './check.js';
import { checkActivations, checkWeights, QUANT_TILE, type Fp8Activations, type Fp8Weights } from './quant.js';

export type OutDtype = 'f32' | 'bf16';
type Out<D extends OutDtype> = D extends 'bf16' ? Uint16Array : Float32Array;

/** Stacked expert weights: q [experts, rows, cols], scaleInv [experts, ceil(rows/128), ceil(cols/128)]. */
export interface Fp8ExpertWeights {
  q: Uint8Array;
  scaleInv: Float32Array;
  experts: number;
  rows: number;
  cols: number;
}

function alloc<D extends OutDtype>(fn: string, dtype: D, n: number): Out<D> {
  if (dtype === 'f32') return new Float32Array(n) as Out<D>;
  if (dtype === 'bf16') return new Uint16Array(n) as Out<D>;
  throw new TypeError(`${fn}: out must be 'f32' or 'bf16', got ${String(dtype)}`);
}

function gemmArgs<D extends OutDtype>(fn: string, a: unknown, b: unknown, dtype: D) {
  const A = checkActivations(fn, 'a', a), B = checkWeights(fn, 'b', b);
  if (A.cols !== B.cols) throw new RangeError(`${fn}: a.cols (${A.cols}) must equal b.cols (${B.cols}): C = A . B^T contracts over K`);
  const out = alloc(fn, dtype, A.rows * B.rows);
  return [A.q, A.scales, B.q, B.scaleInv, A.rows, B.rows, A.cols, out] as const;
}

/** C [a.rows, b.rows] = A . B^T, fp32 accumulation promoted every 128 of K. */
export function fp8Gemm<D extends OutDtype = 'f32'>(a: Fp8Activations, b: Fp8Weights, out: D = 'f32' as D): Out<D> {
  const args = gemmArgs('fp8Gemm', a, b, out);
  binding().fp8Gemm(...args);
  return args[7];
}

export async function fp8GemmAsync<D extends OutDtype = 'f32'>(a: Fp8Activations, b: Fp8Weights, out: D = 'f32' as D): Promise<Out<D>> {
  const args = gemmArgs('fp8GemmAsync', a, b, out);
  await callAsync(binding().fp8Gemm, [...args]);
  return args[7];
}

export function checkExpertWeights(fn: string, name: string, w: unknown): Fp8ExpertWeights {
  const v = w as Fp8ExpertWeights;
  if (typeof w !== 'object' || w === null) throw new TypeError(`${fn}: ${name} must be an Fp8ExpertWeights {q, scaleInv, experts, rows, cols}`);
  const e = dim(fn, `${name}.experts`, v.experts), n = dim(fn, `${name}.rows`, v.rows), k = dim(fn, `${name}.cols`, v.cols);
  const nb = ceilDiv(n, QUANT_TILE), kb = ceilDiv(k, QUANT_TILE);
  array(fn, `${name}.q`, v.q, Uint8Array, e * n * k, `experts*rows*cols = ${e}*${n}*${k}`);
  array(fn, `${name}.scaleInv`, v.scaleInv, Float32Array, e * nb * kb, `experts*ceil(rows/128)*ceil(cols/128) = ${e}*${nb}*${kb}`);
  return v;
}

function groupedArgs<D extends OutDtype>(fn: string, a: unknown, w: unknown, offsets: unknown, dtype: D) {
  const A = checkActivations(fn, 'a', a), W = checkExpertWeights(fn, 'experts', w);
  if (A.cols !== W.cols) throw new RangeError(`${fn}: a.cols (${A.cols}) must equal experts.cols (${W.cols})`);
  const off = array(fn, 'offsets', offsets, Int32Array, W.experts + 1, `experts+1 = ${W.experts + 1}`);
  if (off[0] !== 0) throw new RangeError(`${fn}: offsets[0] must be 0, got ${off[0]}`);
  for (let e = 0; e < W.experts; e++) {
    if (off[e + 1]! < off[e]!) throw new RangeError(`${fn}: offsets must be non-decreasing, offsets[${e + 1}] = ${off[e + 1]} < offsets[${e}] = ${off[e]}`);
  }
  if (off[W.experts] !== A.rows) throw new RangeError(`${fn}: offsets[${W.experts}] (${off[W.experts]}) must equal a.rows (${A.rows})`);
  const out = alloc(fn, dtype, A.rows * W.rows);
  return [A.q, A.scales, W.q, W.scaleInv, off, W.experts, W.rows, W.cols, out] as const;
}

/** MoE grouped GEMM: rows [offsets[e], offsets[e+1]) of A multiply expert e's weights. C [a.rows, experts.rows]. */
export function fp8GemmGrouped<D extends OutDtype = 'f32'>(a: Fp8Activations, experts: Fp8ExpertWeights, offsets: Int32Array, out: D = 'f32' as D): Out<D> {
  const args = groupedArgs('fp8GemmGrouped', a, experts, offsets, out);
  binding().fp8GemmGrouped(...args);
  return args[8];
}

export async function fp8GemmGroupedAsync<D extends OutDtype = 'f32'>(a: Fp8Activations, experts: Fp8ExpertWeights, offsets: Int32Array, out: D = 'f32' as D): Promise<Out<D>> {
  const args = groupedArgs('fp8GemmGroupedAsync', a, experts, offsets, out);
  await callAsync(binding().fp8GemmGrouped, [...args]);
  return args[8];
}

/** Weights decoded and laid out once for the GEMM micro-kernels of one kernel path (inference). */
export interface PackedFp8Weights {
  packed: Uint8Array;
  /** The kernel path the layout is for (the path in force when packed). */
  path: KernelPathName;
  experts: number;
  rows: number;
  cols: number;
  scaleInv: Float32Array;
}

const PATH_CODES: Record<KernelPathName, number> = { reference: 0, avx2: 1, avx512: 2, amx: 3 };

/** Packs one weight matrix or a stack of expert weights for the path in force now. */
export function packWeights(w: Fp8Weights | Fp8ExpertWeights): PackedFp8Weights {
  const fn = 'packWeights';
  const stacked = typeof w === 'object' && w !== null && 'experts' in w;
  const W: Fp8ExpertWeights = stacked ? checkExpertWeights(fn, 'w', w) : { ...checkWeights(fn, 'w', w), experts: 1 };
  const path = binding().kernelInfo().path;
  const packed = binding().packWeights(W.q, W.experts, W.rows, W.cols, PATH_CODES[path]);
  return { packed, path, experts: W.experts, rows: W.rows, cols: W.cols, scaleInv: W.scaleInv };
}

/** A caller's output buffer (reused memory: fresh pages cost as much as a small GEMM), checked, or a new one. */
function outBuffer<D extends OutDtype>(fn: string, dtype: D, n: number, into?: Float32Array): Out<D> {
  if (into === undefined) return alloc(fn, dtype, n);
  if (dtype !== 'f32') throw new TypeError(`${fn}: an output buffer is only taken for out 'f32'`);
  return array(fn, 'into', into, Float32Array, n, `rows*weights.rows = ${n}`) as Out<D>;
}

function packedArgs<D extends OutDtype>(fn: string, a: unknown, w: unknown, offsets: unknown, dtype: D, into?: Float32Array) {
  const p = w as PackedFp8Weights;
  if (typeof w !== 'object' || w === null || !(p.packed instanceof Uint8Array) || !Object.hasOwn(PATH_CODES, p.path)) {
    throw new TypeError(`${fn}: weights must be a PackedFp8Weights from packWeights()`);
  }
  const A = checkActivations(fn, 'a', a);
  const E = dim(fn, 'weights.experts', p.experts), N = dim(fn, 'weights.rows', p.rows), K = dim(fn, 'weights.cols', p.cols);
  if (A.cols !== K) throw new RangeError(`${fn}: a.cols (${A.cols}) must equal weights.cols (${K})`);
  const nb = ceilDiv(N, QUANT_TILE), kb = ceilDiv(K, QUANT_TILE);
  array(fn, 'weights.scaleInv', p.scaleInv, Float32Array, E * nb * kb, `experts*ceil(rows/128)*ceil(cols/128) = ${E}*${nb}*${kb}`);
  const off = array(fn, 'offsets', offsets, Int32Array, E + 1, `experts+1 = ${E + 1}`);
  if (off[0] !== 0) throw new RangeError(`${fn}: offsets[0] must be 0, got ${off[0]}`);
  for (let e = 0; e < E; e++) {
    if (off[e + 1]! < off[e]!) throw new RangeError(`${fn}: offsets must be non-decreasing, offsets[${e + 1}] = ${off[e + 1]} < offsets[${e}] = ${off[e]}`);
  }
  if (off[E] !== A.rows) throw new RangeError(`${fn}: offsets[${E}] (${off[E]}) must equal a.rows (${A.rows})`);
  return [A.q, A.scales, p.packed, p.scaleInv, off, E, N, K, PATH_CODES[p.path], outBuffer(fn, dtype, A.rows * N, into)] as const;
}

/** fp8Gemm on packed weights (one matrix): same result as fp8Gemm on the path the weights were packed for. */
export function fp8GemmPacked<D extends OutDtype = 'f32'>(a: Fp8Activations, w: PackedFp8Weights, out: D = 'f32' as D, into?: Float32Array): Out<D> {
  if (w?.experts !== 1) throw new TypeError(`fp8GemmPacked: weights must hold one matrix (experts = 1), got ${String(w?.experts)}; use fp8GemmGroupedPacked`);
  const args = packedArgs('fp8GemmPacked', a, w, Int32Array.from([0, a?.rows ?? 0]), out, into);
  binding().fp8GemmGroupedPacked(...args);
  return args[9];
}

/** fp8GemmGrouped on packed expert weights. */
export function fp8GemmGroupedPacked<D extends OutDtype = 'f32'>(a: Fp8Activations, w: PackedFp8Weights, offsets: Int32Array, out: D = 'f32' as D, into?: Float32Array): Out<D> {
  const args = packedArgs('fp8GemmGroupedPacked', a, w, offsets, out, into);
  binding().fp8GemmGroupedPacked(...args);
  return args[9];
}

export async function fp8GemmGroupedPackedAsync<D extends OutDtype = 'f32'>(a: Fp8Activations, w: PackedFp8Weights, offsets: Int32Array, out: D = 'f32' as D): Promise<Out<D>> {
  const args = packedArgs('fp8GemmGroupedPackedAsync', a, w, offsets, out);
  await callAsync(binding().fp8GemmGroupedPacked, [...args]);
  return args[9];
}

function bf16Args<D extends OutDtype>(fn: string, a: unknown, b: unknown, m: unknown, n: unknown, k: unknown, dtype: D) {
  const M = dim(fn, 'm', m), N = dim(fn, 'n', n), K = dim(fn, 'k', k);
  const A = array(fn, 'a', a, Uint16Array, M * K, `m*k = ${M}*${K}`);
  const B = array(fn, 'b', b, Uint16Array, N * K, `n*k = ${N}*${K}`);
  return [A, B, M, N, K, alloc(fn, dtype, M * N)] as const;
}

/** C [m, n] = A [m, k] . B [n, k]^T on bfloat16 bits, fp32 accumulation. */
export function bf16Gemm<D extends OutDtype = 'f32'>(a: Uint16Array, b: Uint16Array, m: number, n: number, k: number, out: D = 'f32' as D): Out<D> {
  const args = bf16Args('bf16Gemm', a, b, m, n, k, out);
  binding().bf16Gemm(...args);
  return args[5];
}

export async function bf16GemmAsync<D extends OutDtype = 'f32'>(a: Uint16Array, b: Uint16Array, m: number, n: number, k: number, out: D = 'f32' as D): Promise<Out<D>> {
  const args = bf16Args('bf16GemmAsync', a, b, m, n, k, out);
  await callAsync(binding().bf16Gemm, [...args]);
  return args[5];
}

export interface EmulationOptions {
  /** Explicit mantissa bits the accumulator keeps (truncation after every add); 23 = plain fp32. */
  accMantissaBits: number;
  /** Promote into fp32 every `interval` K elements (must divide 128); 0 = never. */
  interval: number;
  /** Products summed exactly-ish in fp32 per `group` K before entering the narrow accumulator (1 = each product). */
  group?: number;
}

/** Precision study only: the FP8 GEMM with a narrow, truncating accumulator (scalar, slow). */
export async function fp8GemmEmulated(a: Fp8Activations, b: Fp8Weights, opts: EmulationOptions): Promise<Float32Array> {
  const fn = 'fp8GemmEmulated';
  const args = gemmArgs(fn, a, b, 'f32');
  const bits = dim(fn, 'accMantissaBits', opts.accMantissaBits), interval = dim(fn, 'interval', opts.interval);
  if (bits < 1 || bits > 23) throw new RangeError(`${fn}: accMantissaBits must be in [1, 23], got ${bits}`);
  if (interval !== 0 && (interval > 128 || 128 % interval !== 0)) throw new RangeError(`${fn}: interval must be 0 or divide 128, got ${interval}`);
  const group = dim(fn, 'group', opts.group ?? 1);
  if (group < 1 || 128 % group !== 0 || (interval !== 0 && interval % group !== 0)) throw new RangeError(`${fn}: group must divide 128 and the interval, got ${group}`);
  const [aq, as, bq, bs, m, n, k, out] = args;
  await callAsync(binding().fp8GemmEmulated, [aq, as, bq, bs, m, n, k, bits, interval, group, out]);
  return out;
}

interface TrainGemmBinding {
  fp8LinearForward(x: Float32Array, T: number, inF: number, Wq: Uint8Array, Wsi: Float32Array, out: number, y: Float32Array): number;
  fp8LinearBackward(dy: Float32Array, x: Float32Array | null, T: number, out: number, inF: number, Wq: Uint8Array | null, Wsi: Float32Array | null, dx: Float32Array | null, dW: Float32Array | null): number;
  fp8ExpertsBackward(x: Float32Array, inF: number, offsets: Int32Array, dy: Float32Array[], out: number, Wq: Uint8Array[], Wsi: Float32Array[], dx: Float32Array, dW: Float32Array[]): number;
}
const trainBinding = (): TrainGemmBinding => binding() as unknown as TrainGemmBinding;

function sameShape(fn: string, name: string, w: Fp8Weights | Fp8ExpertWeights, rows: number, cols: number): void {
  if (w.rows !== rows || w.cols !== cols) throw new RangeError(`${fn}: ${name} is [${w.rows}, ${w.cols}], expected [out, in] = [${rows}, ${cols}]`);
}

/**
 * The FP8 forward y [T, out] = Q(x) · Q(W)ᵀ of a linear (kernels/fp8_linear.h): x quantised in 1×128 tiles into the
 * addon's scratch (its codes are not kept), W's codes given; fp8Gemm's result. quantMs: the process CPU milliseconds
 * it spent quantising.
 */
export function fp8LinearForward(x: Float32Array, T: number, inF: number, w: Fp8Weights): { y: Float32Array; quantMs: number } {
  const W = checkWeights('fp8LinearForward', 'w', w);
  if (W.cols !== inF) throw new RangeError(`fp8LinearForward: w.cols (${W.cols}) must equal in (${inF})`);
  const y = new Float32Array(T * W.rows);
  return { y, quantMs: trainBinding().fp8LinearForward(x, T, inF, W.q, W.scaleInv, W.rows, y) };
}

/**
 * The FP8 backward of a linear y = x·Wᵀ in one call (kernels/fp8_linear.h): dx [T, in] += dy·W and dW [out, in] +=
 * dyᵀ·x (pass null to skip either; x is needed for dW only, w for dx only), from W's forward codes.
 * Returns the process CPU milliseconds it spent quantising (the rest is GEMM), for the training breakdown.
 */
export function fp8LinearBackward(dy: Float32Array, x: Float32Array | null, T: number, outF: number, inF: number, w: Fp8Weights | null, dx: Float32Array | null, dW: Float32Array | null): number {
  const fn = 'fp8LinearBackward';
  if (dx !== null && w === null) throw new TypeError(`${fn}: dx needs W's forward codes (w), got null`);
  if (dW !== null && x === null) throw new TypeError(`${fn}: dW needs the layer's input x, got null`);
  if (w !== null) sameShape(fn, 'w', checkWeights(fn, 'w', w), outF, inF);
  return trainBinding().fp8LinearBackward(dy, x, T, outF, inF, w?.q ?? null, w?.scaleInv ?? null, dx, dW);
}

/**
 * fp8LinearBackward for the routed experts of one MoE layer, one call for projections that share their input (the
 * experts' gate and up): expert e owns rows [offsets[e], offsets[e+1]) of x [R, in] and of each dy[p] [R, out];
 * w[p] the stacked forward codes, dW[p][e] expert e's gradient. dx [R, in] += every projection's product, p in order.
 */
export function fp8ExpertsBackward(x: Float32Array, inF: number, offsets: Int32Array, dy: Float32Array[], outF: number, w: Fp8ExpertWeights[], dx: Float32Array, dW: Float32Array[][]): number {
  const fn = 'fp8ExpertsBackward';
  if (dy.length !== w.length || dW.length !== w.length) throw new RangeError(`${fn}: dy (${dy.length}), w (${w.length}) and dW (${dW.length}) must have one entry per projection`);
  w.forEach((p, i) => {
    sameShape(fn, `w[${i}]`, checkExpertWeights(fn, `w[${i}]`, p), outF, inF);
    if (p.experts !== offsets.length - 1 || dW[i]!.length !== p.experts) throw new RangeError(`${fn}: w[${i}] has ${p.experts} experts, dW[${i}] ${dW[i]!.length}, offsets ${offsets.length - 1}: they must agree`);
  });
  return trainBinding().fp8ExpertsBackward(x, inF, offsets, dy, outF, w.map((p) => p.q), w.map((p) => p.scaleInv), dx, dW.flat());
}

/**
 * C [m, n] = A · Bᵀ on float32 operands rounded to bfloat16 while packed (gemm.h bf16_gemm_f32), either stored
 * transposed (transA: a kept [k, m]; transB: b kept [k, n]), fp32 accumulation. With `into`, into.out += the product.
 */
export function bf16GemmF32(a: Float32Array, transA: boolean, b: Float32Array, transB: boolean, m: number, n: number, k: number, into?: { out: Float32Array }): Float32Array {
  const fn = 'bf16GemmF32';
  const M = dim(fn, 'm', m), N = dim(fn, 'n', n), K = dim(fn, 'k', k);
  const out = into ? array(fn, 'into.out', into.out, Float32Array, M * N, `m*n = ${M}*${N}`) : new Float32Array(M * N);
  (binding() as unknown as { bf16GemmF32(a: Float32Array, ta: boolean, b: Float32Array, tb: boolean, m: number, n: number, k: number, out: Float32Array, acc: boolean): void })
    .bf16GemmF32(array(fn, 'a', a, Float32Array, M * K, `m*k = ${M}*${K}`), transA, array(fn, 'b', b, Float32Array, N * K, `n*k = ${N}*${K}`), transB, M, N, K, out, into !== undefined);
  return out;
}

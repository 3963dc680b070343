// The precision modes of the training path (REFERENCE.md §2):
//   fp8  — attention/FFN/expert linears: forward, dgrad and wgrad GEMMs on E4M3 inputs, 1×128 tiles for the left
//          operand and 128×128 blocks for the right one, FP32 accumulation promoted every 128 of K; head and MTP
//          projection in BF16.
//   bf16 — the same model with every GEMM on BF16 inputs (the comparison run).
//   fp32 — plain float32 loops (tests, no addon needed).
// Native kernels come from runtime/src/native; without the addon, fp8/bf16 fall back to TypeScript emulation
// (same quantisation, float32 loops) with a warning, so the trainer still runs.
import { existsSync } from 'node:fs';
import { refGemm, type Ctx, type Gemm } from './gemm.js';
import { fakeQuant, fromBf16, toBf16 } from './fp8.js';
import { alloc32, matmulN, matmulT, matmulTN, transpose, type Vec } from './tensor.js';
import * as native from '../native/index.js';
import { enter, leave, recharge, timed } from './profile.js';
import { amax as amaxNative, axpy } from '../native/train-ops.js';

export type Precision = 'fp8' | 'bf16' | 'fp32';
export const PRECISIONS: Precision[] = ['fp8', 'bf16', 'fp32'];

export function nativeAvailable(): boolean {
  return existsSync(native.addonPath());
}

function f32(v: Vec): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError('the fp8/bf16 training path needs Float32Array tensors (use fp32 for float64)');
  return v;
}

function tr(a: Float32Array, rows: number, cols: number): Float32Array {
  return transpose(a, rows, cols, new Float32Array(a.length)) as Float32Array;
}

function emulatedFp8(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float32Array {
  const y = new Float32Array(m * n);
  matmulT(fakeQuant(a, m, k, 1, 128), fakeQuant(b, n, k, 128, 128), m, k, n, y);
  return y;
}

function roundBf16(a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = fromBf16(toBf16(a[i]));
  return out;
}

function emulatedBf16(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float32Array {
  const y = new Float32Array(m * n);
  matmulT(roundBf16(a), roundBf16(b), m, k, n, y);
  return y;
}

type Kernel = (a: Float32Array, b: Float32Array, m: number, n: number, k: number) => Float32Array;

/**
 * Gradients are often far smaller than the 1e-4 amax floor of the tile scale (measured on the tiny preset: a
 * quarter of the dgrad inputs have amax 2e-7…1e-4), which would quantise them coarsely or flush them to zero. So the
 * gradient operand is multiplied by a power of two that brings its amax into [1, 2) and the product divided by it
 * again: exact in binary floating point, and it leaves every per-tile scale doing the work it is meant to.
 */
export function gradScale(g: Float32Array, native = false): number {
  let amax = 0;
  if (native) amax = amaxNative(g);
  else for (let i = 0; i < g.length; i++) {
    const a = Math.abs(g[i]);
    if (a > amax) amax = a;
  }
  if (!(amax > 0) || !Number.isFinite(amax)) return 1;
  return 2 ** -Math.floor(Math.log2(amax));
}

function scaled(g: Float32Array, c: number): Float32Array {
  if (c === 1) return g;
  const out = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = g[i] * c;
  return out;
}

function addScaled(dst: Vec, src: Float32Array, inv: number): void {
  for (let i = 0; i < src.length; i++) dst[i] += src[i] * inv;
}

/** A Gemm whose three products all go through `k` as C = A·Bᵀ; `rescale` applies gradScale to the gradients. */
function gemmOf(name: string, k: Kernel, rescale: boolean): Gemm {
  return {
    name,
    forward: (x, W, T, inF, outF) => k(f32(x), f32(W), T, outF, inF),
    // dx[T,in] = dy[T,out] · W[out,in] = dy · (Wᵀ[in,out])ᵀ
    dgrad: (dy, W, T, outF, inF, dx) => {
      enter('quant');
      const c = rescale ? gradScale(f32(dy)) : 1;
      const a = scaled(f32(dy), c), b = tr(f32(W), outF, inF);
      leave();
      const y = k(a, b, T, inF, outF);
      timed('gemm', () => addScaled(dx, y, 1 / c));
    },
    // dW[out,in] = dyᵀ[out,T] · (xᵀ[in,T])ᵀ
    wgrad: (dy, x, T, outF, inF, dW) => {
      enter('quant');
      const c = rescale ? gradScale(f32(dy)) : 1;
      const a = tr(scaled(f32(dy), c), T, outF), b = tr(f32(x), T, inF);
      leave();
      const y = k(a, b, outF, inF, T);
      timed('gemm', () => addScaled(dW, y, 1 / c));
    },
  };
}

/** dst += src · inv: the addon's loop on float32 (the training path), a plain one otherwise. */
function accumulate(dst: Vec, src: Float32Array, inv: number): void {
  if (dst instanceof Float32Array) axpy(dst, src, inv);
  else addScaled(dst, src, inv);
}

// The forward's FP8 weights, kept for the dgrad of the same matrix (whose Wᵀ blocks are these codes transposed) and
// dropped there; the weights do not change between a layer's forward and its backward (the optimizer runs after both).
const forwardWeights = new WeakMap<Vec, native.Fp8Weights>();

// Each weight's FP8 code buffers, refilled by every forward: fresh arrays each step cost page faults and collections
// (a second forward before the backward, as a pipeline's next microbatch, writes the same codes: W has not changed).
const weightBuffers = new WeakMap<Vec, native.Fp8Weights>();
function weightBuffer(W: Vec, rows: number, cols: number): native.Fp8Weights {
  let b = weightBuffers.get(W);
  if (!b || b.rows !== rows || b.cols !== cols) {
    b = { q: new Uint8Array(rows * cols), scaleInv: new Float32Array(Math.ceil(rows / 128) * Math.ceil(cols / 128)), rows, cols };
    weightBuffers.set(W, b);
  }
  return b;
}

/** Hands fp8-native's dgrad of W the FP8 codes a grouped forward made of it (moe-grouped.ts). */
export function keepForwardWeights(W: Vec, q: native.Fp8Weights): void {
  forwardWeights.set(W, q);
}

/**
 * dx += dy·W and/or dW += dyᵀ·x (null skips one) in one native call (kernels/fp8_linear.h): c = gradScale(dy); (c·dy)
 * in 1×128 tiles and W's forward codes read as Wᵀ for dgrad; (c·dy)ᵀ in tiles along T and x in 128×128 blocks read
 * transposed for wgrad; 1/c folded into the tile scales; the operands in the addon's scratch. Its quantisation time
 * is charged to 'quant'. A float64 destination takes the products through a float32 temporary.
 */
function fp8Backward(dy: Vec, x: Vec | null, W: Vec | null, T: number, outF: number, inF: number, dx: Vec | null, dW: Vec | null): void {
  let fw: native.Fp8Weights | null = null;
  if (dx !== null) {
    fw = forwardWeights.get(W!) ?? timed('quant', () => native.quantizeWeights(f32(W!), outF, inF));
    forwardWeights.delete(W!);
  }
  const dx32 = dx === null || dx instanceof Float32Array ? dx : new Float32Array(T * inF);
  const dW32 = dW === null || dW instanceof Float32Array ? dW : new Float32Array(outF * inF);
  enter('gemm');
  recharge('quant', native.fp8LinearBackward(f32(dy), x === null ? null : f32(x), T, outF, inF, fw, dx32, dW32));
  if (dx !== null && dx !== dx32) addScaled(dx, dx32!, 1);
  if (dW !== null && dW !== dW32) addScaled(dW, dW32!, 1);
  leave();
}

/**
 * FP8 on the addon, the recipe's operands: forward x in 1×128 tiles, W in 128×128 blocks (kept for the dgrad); the
 * backward in fp8Backward, both products in one call when the layer asks for both (a deferred wgrad gets its own).
 * The emulation (gemmOf) builds the same operands in TypeScript.
 */
const fp8Native: Gemm = {
  name: 'fp8-native',
  forward: (x, W, T, inF, outF) => {
    const qb = timed('quant', () => native.quantizeWeights(f32(W), outF, inF, {}, weightBuffer(W, outF, inF)));
    forwardWeights.set(W, qb);
    enter('gemm');
    const { y, quantMs } = native.fp8LinearForward(f32(x), T, inF, qb);
    recharge('quant', quantMs);
    leave();
    return y;
  },
  dgrad: (dy, W, T, outF, inF, dx) => fp8Backward(dy, null, W, T, outF, inF, dx, null),
  wgrad: (dy, x, T, outF, inF, dW) => fp8Backward(dy, x, null, T, outF, inF, null, dW),
  backward: (dy, x, W, T, outF, inF, dx, dW) => fp8Backward(dy, x, W, T, outF, inF, dx, dW),
};

/**
 * BF16 on the addon: float32 operands rounded to bfloat16 as the GEMM packs them, the backward's transposed operands
 * read where they lie (bf16GemmF32), dx and dW added to in the GEMM; no converted or transposed copies.
 */
const bf16Native: Gemm = {
  name: 'bf16-native',
  forward: (x, W, T, inF, outF) => timed('gemm', () => native.bf16GemmF32(f32(x), false, f32(W), false, T, outF, inF)),
  // dx[T,in] += dy[T,out] · W[out,in]: W read as Wᵀ [in, out].
  dgrad: (dy, W, T, outF, inF, dx) => timed('gemm', () => {
    if (dx instanceof Float32Array) native.bf16GemmF32(f32(dy), false, f32(W), true, T, inF, outF, { out: dx });
    else accumulate(dx, native.bf16GemmF32(f32(dy), false, f32(W), true, T, inF, outF), 1);
  }),
  // dW[out,in] += dyᵀ[out,T] · (xᵀ[in,T])ᵀ: dy and x read transposed.
  wgrad: (dy, x, T, outF, inF, dW) => timed('gemm', () => {
    if (dW instanceof Float32Array) native.bf16GemmF32(f32(dy), true, f32(x), true, outF, inF, T, { out: dW });
    else accumulate(dW, native.bf16GemmF32(f32(dy), true, f32(x), true, outF, inF, T), 1);
  }),
};

const fp32Gemm: Gemm = {
  name: 'fp32',
  forward: (x, W, T, inF, outF, alloc) => timed('gemm', () => refGemm.forward(x, W, T, inF, outF, alloc)),
  dgrad: (dy, W, T, outF, inF, dx) => timed('gemm', () => matmulN(dy, W, T, outF, inF, dx)),
  wgrad: (dy, x, T, outF, inF, dW) => timed('gemm', () => matmulTN(dy, x, T, outF, inF, dW)),
};

/** The context for a precision mode; `useNative` false forces the TypeScript emulation. */
export function precisionCtx(p: Precision, useNative = nativeAvailable()): Ctx {
  if (!PRECISIONS.includes(p)) throw new Error(`precision must be one of ${PRECISIONS.join(', ')}, got ${String(p)}`);
  if (p === 'fp32') return { alloc: alloc32, linear: fp32Gemm, head: fp32Gemm };
  const bf16 = useNative ? bf16Native : gemmOf('bf16-emulated', emulatedBf16, false);
  if (p === 'bf16') return { alloc: alloc32, linear: bf16, head: bf16, native: useNative };
  const fp8 = useNative ? fp8Native : gemmOf('fp8-emulated', emulatedFp8, true);
  return { alloc: alloc32, linear: fp8, head: bf16, native: useNative };
}

// The training step's native float32 ops (runtime/native/kernels/train_ops.h): the model and optimizer call these on
// Float32Array tensors when the addon is built; the TypeScript loops beside them stay the reference (float64 too).
import { binding } from './binding.js';
import { ceilDiv } from './check.js';
import { QUANT_TILE, type Fp8Activations, type Fp8Weights } from './quant.js';

type F32 = Float32Array;
type I32 = Int32Array;
interface TrainBinding {
  trainAdamw(w: F32, g: F32, m: Uint16Array, v: Uint16Array, lr: number, beta1: number, beta2: number, eps: number, wd: number, bc1: number, bc2: number): void;
  trainSumsq(x: F32, init: number): number;
  trainScale(x: F32, f: number): void;
  trainAxpy(dst: F32, src: F32, a: number): void;
  trainAttnFwd(q: F32, kv: F32, kpe: F32, lo: I32 | null, B: number, S: number, H: number, dn: number, dr: number, dv: number, scale: number, probs: F32, o: F32): void;
  trainAttnBwd(q: F32, kv: F32, kpe: F32, probs: F32, dO: F32, lo: I32 | null, B: number, S: number, H: number, dn: number, dr: number, dv: number, scale: number, dq: F32, dkv: F32, dkpe: F32): void;
  trainRmsnormFwd(x: F32, w: F32, T: number, D: number, eps: number, y: F32, r: F32): void;
  trainRmsnormBwd(x: F32, w: F32, r: F32, dy: F32, T: number, D: number, dx: F32, dw: F32): void;
  trainRope(x: F32, pos: I32, cols: number, col0: number, heads: number, stride: number, dr: number, inv: Float64Array, amp: number, inverse: boolean): void;
  trainEmbedFwd(E: F32, ids: I32, V: number, d: number, y: F32): void;
  trainEmbedBwd(dy: F32, ids: I32, V: number, d: number, dE: F32): void;
  trainSwigluFwd(g: F32, u: F32, a: F32): void;
  trainSwigluBwd(g: F32, u: F32, da: F32, dg: F32, du: F32): void;
  trainCrossEntropy(logits: F32, targets: I32, T: number, V: number, weight: number, dlogits: F32): number;
  trainSgemm(kind: 0 | 1 | 2, a: F32, b: F32, T: number, outF: number, inF: number, c: F32): void;
  trainTranspose(x: F32, rows: number, cols: number, out: F32): void;
  trainAmax(x: F32): number;
  trainQuantActScaled(x: F32, rows: number, cols: number, c: number, q: Uint8Array, scales: F32): void;
  trainQuantActCols(x: F32, rows: number, cols: number, c: number, q: Uint8Array, scales: F32): void;
  trainFp8GemmT(a: Uint8Array, aScale: F32, transA: boolean, b: Uint8Array, bScale: F32, transB: boolean, M: number, N: number, K: number, out: F32, alpha?: number): void;
}

const b = (): TrainBinding => binding() as unknown as TrainBinding;

/** AdamW over one parameter with BF16 moments (adamw.ts's update); bc1/bc2 = 1 − β^(step+1). */
export function adamwBf16(w: F32, g: F32, m: Uint16Array, v: Uint16Array, lr: number, beta1: number, beta2: number, eps: number, wd: number, bc1: number, bc2: number): void {
  b().trainAdamw(w, g, m, v, lr, beta1, beta2, eps, wd, bc1, bc2);
}

/** init + Σ x² in float64, in adamw.ts sumSquaresRef's order. */
export const sumSquares = (x: F32, init = 0): number => b().trainSumsq(x, init);
export const scaleInPlace = (x: F32, f: number): void => b().trainScale(x, f);
/** dst += src · a */
export const axpy = (dst: F32, src: F32, a: number): void => b().trainAxpy(dst, src, a);

/** MLA attention core, training form (train_ops.h train_attn_fwd); probs [B·H·S·S] kept for the backward. */
export function attnForward(q: F32, kv: F32, kpe: F32, lo: I32 | undefined, B: number, S: number, H: number, dn: number, dr: number, dv: number, scale: number): { o: F32; probs: F32 } {
  const probs = new Float32Array(B * H * S * S);
  const o = new Float32Array(B * S * H * dv);
  b().trainAttnFwd(q, kv, kpe, lo ?? null, B, S, H, dn, dr, dv, scale, probs, o);
  return { o, probs };
}

export function attnBackward(q: F32, kv: F32, kpe: F32, probs: F32, dO: F32, lo: I32 | undefined, B: number, S: number, H: number, dn: number, dr: number, dv: number, scale: number): { dq: F32; dkv: F32; dkpe: F32 } {
  const T = B * S;
  const dq = new Float32Array(T * H * (dn + dr)), dkv = new Float32Array(T * H * (dn + dv)), dkpe = new Float32Array(T * dr);
  b().trainAttnBwd(q, kv, kpe, probs, dO, lo ?? null, B, S, H, dn, dr, dv, scale, dq, dkv, dkpe);
  return { dq, dkv, dkpe };
}

/** RMSNorm's y and r (1/rms per row, kept for the backward). */
export function rmsnormForward(x: F32, w: F32, T: number, D: number, eps: number): { y: F32; r: F32 } {
  const y = new Float32Array(T * D), r = new Float32Array(T);
  b().trainRmsnormFwd(x, w, T, D, eps, y, r);
  return { y, r };
}

/** dx, and dw += the weight's gradient. */
export function rmsnormBackward(x: F32, w: F32, r: F32, dy: F32, T: number, D: number, dw: F32): F32 {
  const dx = new Float32Array(T * D);
  b().trainRmsnormBwd(x, w, r, dy, T, D, dx, dw);
  return dx;
}

export function swigluForward(g: F32, u: F32): F32 {
  const a = new Float32Array(g.length);
  b().trainSwigluFwd(g, u, a);
  return a;
}

export function swigluBackward(g: F32, u: F32, da: F32): { dg: F32; du: F32 } {
  const dg = new Float32Array(g.length), du = new Float32Array(g.length);
  b().trainSwigluBwd(g, u, da, dg, du);
  return { dg, du };
}

/** rope.ts rope in place on float32 rows (pos.length rows of width cols), the table's inverse frequencies and factor. */
export function ropeNative(x: F32, pos: I32, cols: number, col0: number, heads: number, stride: number, dr: number, inv: Float64Array, amp: number, inverse: boolean): void {
  b().trainRope(x, pos, cols, col0, heads, stride, dr, inv, amp, inverse);
}

/** Rows ids of the embedding E [V, d]; throws naming a token outside [0, V). */
export function embedForward(E: F32, ids: I32, V: number, d: number): F32 {
  const y = new Float32Array(ids.length * d);
  b().trainEmbedFwd(E, ids, V, d, y);
  return y;
}

/** dE[ids[i]] += dy[i], in row order. */
export const embedBackward = (dy: F32, ids: I32, V: number, d: number, dE: F32): void => b().trainEmbedBwd(dy, ids, V, d, dE);

/** loss.ts crossEntropy on float32 logits; throws naming the row of a target outside the vocabulary. */
export function crossEntropyNative(logits: F32, targets: I32, T: number, V: number, weight: number): { loss: number; dlogits: F32 } {
  const dlogits = new Float32Array(T * V);
  const loss = b().trainCrossEntropy(logits, targets, T, V, weight, dlogits);
  return { loss, dlogits };
}

/** max |x|, NaN if any element is NaN. */
export const amax = (x: F32): number => b().trainAmax(x);

/** c·x as FP8 activations (1×128 tiles). */
export function quantizeActivationsScaled(x: F32, rows: number, cols: number, c: number): Fp8Activations {
  const out: Fp8Activations = { q: new Uint8Array(rows * cols), scales: new Float32Array(rows * ceilDiv(cols, QUANT_TILE)), rows, cols };
  b().trainQuantActScaled(x, rows, cols, c, out.q, out.scales);
  return out;
}

/** xᵀ [cols, rows] of x [rows, cols]. */
export function transposeNative(x: F32, rows: number, cols: number): F32 {
  const out = new Float32Array(rows * cols);
  b().trainTranspose(x, rows, cols, out);
  return out;
}

/** float32 GEMMs of a linear layer (W [out, in]): y = x·Wᵀ, dx += dy·W, dW += dyᵀ·x. */
export const sgemmForward = (x: F32, W: F32, T: number, inF: number, outF: number): F32 => {
  const y = new Float32Array(T * outF);
  b().trainSgemm(0, x, W, T, outF, inF, y);
  return y;
};
export const sgemmDgrad = (dy: F32, W: F32, T: number, outF: number, inF: number, dx: F32): void => b().trainSgemm(1, dy, W, T, outF, inF, dx);
export const sgemmWgrad = (dy: F32, x: F32, T: number, outF: number, inF: number, dW: F32): void => b().trainSgemm(2, dy, x, T, outF, inF, dW);

/**
 * An FP8 GEMM operand [rows, cols] (cols = K) whose codes may be stored transposed ([cols, rows], `transposed`), so
 * the backward's transposed operands need no transposed copy; the scales keep the operand's own layout: 1×128 tiles
 * [rows, ceil(cols/128)] for the left operand, 128×128 blocks [ceil(rows/128), ceil(cols/128)] for the right one.
 */
export interface Fp8Operand {
  q: Uint8Array;
  scales: F32;
  rows: number;
  cols: number;
  transposed: boolean;
}

export const activationsOperand = (a: Fp8Activations): Fp8Operand => ({ q: a.q, scales: a.scales, rows: a.rows, cols: a.cols, transposed: false });

/** Wᵀ of FP8 weights W [N, K] as a right operand [K, N]: W's codes read transposed, the block scales transposed. */
export function weightsTransposed(w: Fp8Weights): Fp8Operand {
  const NB = ceilDiv(w.rows, QUANT_TILE), KB = ceilDiv(w.cols, QUANT_TILE);
  const st = new Float32Array(NB * KB);
  for (let nb = 0; nb < NB; nb++) for (let kb = 0; kb < KB; kb++) st[kb * NB + nb] = w.scaleInv[nb * KB + kb];
  return { q: w.q, scales: st, rows: w.cols, cols: w.rows, transposed: true };
}

/** (c·x)ᵀ [cols, rows] for x [rows, cols] as the left operand (1×128 tiles along rows), its codes left in x's layout. */
export function quantizeActivationsCols(x: F32, rows: number, cols: number, c = 1): Fp8Operand {
  const out: Fp8Operand = { q: new Uint8Array(rows * cols), scales: new Float32Array(cols * ceilDiv(rows, QUANT_TILE)), rows: cols, cols: rows, transposed: true };
  b().trainQuantActCols(x, rows, cols, c, out.q, out.scales);
  return out;
}

/**
 * C [a.rows, b.rows] = A · Bᵀ on FP8 operands (gemm.h fp8_gemm_t): the same bits as fp8Gemm on untransposed copies.
 * With `into`, into.out += into.alpha · A · Bᵀ instead (fp8_gemm_t_acc: alpha folded into A's scales), and returns it.
 */
export function fp8GemmT(a: Fp8Operand, w: Fp8Operand, into?: { out: F32; alpha: number }): F32 {
  if (a.cols !== w.cols) throw new RangeError(`fp8GemmT: a.cols (${a.cols}) must equal b.cols (${w.cols}): C = A . B^T contracts over K`);
  if (into) {
    b().trainFp8GemmT(a.q, a.scales, a.transposed, w.q, w.scales, w.transposed, a.rows, w.rows, a.cols, into.out, into.alpha);
    return into.out;
  }
  const out = new Float32Array(a.rows * w.rows);
  b().trainFp8GemmT(a.q, a.scales, a.transposed, w.q, w.scales, w.transposed, a.rows, w.rows, a.cols, out);
  return out;
}

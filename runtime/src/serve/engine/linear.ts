// One inference projection y[T,out] = x[T,in]·Wᵀ in the engine's precision, with the weight prepared once at load:
//   fp32 — the training path's matmulT arithmetic (float64 sums in input order): in the native matmulTF64 kernel when
//          the addon is built (the same bits), else the TypeScript loops, so the fp32 engine matches step() exactly;
//   bf16 — the native BF16 GEMM on weights converted to bfloat16 once;
//   fp8  — the native FP8 GEMM on packed E4M3 weights (the export's own codes when loaded from one, else quantised
//          per 128×128 block exactly as the training FP8 path does), activations quantised per 1×128 tile per call.
import { bf16Gemm, f32ToBf16, fp8GemmPacked, matmulTF64, packWeights, quantizeActivations, quantizeWeights, transposeF64, type Fp8Weights, type PackedFp8Weights } from '../../native/index.js';
import { nativeAvailable } from '../../model/precision.js';
import { matmulT } from '../../model/tensor.js';
import { scratchF32, scratchQuant } from './scratch.js';

export type GemmPrecision = 'fp32' | 'bf16' | 'fp8';

export class Linear {
  private readonly bf16?: Uint16Array;
  private readonly packed?: PackedFp8Weights;
  /** fp32 with the addon: Wᵀ in float64 for matmulTF64, which gives matmulT's bits several times faster. */
  private readonly wt?: Float64Array;

  /** w: float32 [rows=out, cols=in]; fp8: the shipped codes for w, if any. */
  constructor(readonly name: string, readonly rows: number, readonly cols: number, readonly w: Float32Array, readonly precision: GemmPrecision, fp8?: Fp8Weights) {
    if (w.length !== rows * cols) throw new Error(`linear ${name}: ${w.length} values, expected ${rows}×${cols}`);
    if (precision === 'bf16') this.bf16 = f32ToBf16(w);
    else if (precision === 'fp8') this.packed = packWeights(fp8 ?? quantizeWeights(w, rows, cols));
    else if (nativeAvailable()) this.wt = transposeF64(w, rows, cols);
  }

  forward(x: Float32Array, T: number): Float32Array {
    if (T === 0) return new Float32Array(0);
    if (this.packed) return fp8GemmPacked(quantizeActivations(x, T, this.cols, {}, scratchQuant(T, this.cols)), this.packed, 'f32', scratchF32(T * this.rows));
    if (this.bf16) return bf16Gemm(f32ToBf16(x), this.bf16, T, this.rows, this.cols);
    if (this.wt) return matmulTF64(x, this.wt, T, this.cols, this.rows);
    const y = new Float32Array(T * this.rows);
    matmulT(x, this.w, T, this.cols, this.rows, y);
    return y;
  }
}

/**
 * FP8 weights of several projections of the same input stacked by rows into one matrix, each part starting at a
 * multiple of 128 rows (zero rows pad a part to the boundary), so every 128×128 block — its codes and its scale — is
 * the part's own and one GEMM gives each part's outputs exactly as its own GEMM would. offsets: each part's first
 * output column.
 */
export function stackFp8(parts: Fp8Weights[]): { w: Fp8Weights; offsets: number[] } {
  const cols = parts[0].cols;
  const padded = parts.map((p) => Math.ceil(p.rows / 128) * 128);
  const rows = padded.reduce((s, r) => s + r, 0);
  const q = new Uint8Array(rows * cols);
  const scaleInv = new Float32Array((rows / 128) * Math.ceil(cols / 128));
  const offsets: number[] = [];
  let r0 = 0;
  let s0 = 0;
  parts.forEach((p, i) => {
    if (p.cols !== cols) throw new Error(`stackFp8: part ${i} has ${p.cols} columns, part 0 ${cols}`);
    offsets.push(r0);
    q.set(p.q, r0 * cols);
    scaleInv.set(p.scaleInv, s0);
    r0 += padded[i];
    s0 += p.scaleInv.length;
  });
  return { w: { q, scaleInv, rows, cols }, offsets };
}

/** One FP8 GEMM for several projections of the same input (stackFp8): y [T, rows] with part i at columns offsets[i]. */
export class FusedFp8Linear {
  private readonly packed: PackedFp8Weights;
  readonly offsets: number[];
  readonly rows: number;

  constructor(parts: Fp8Weights[]) {
    const s = stackFp8(parts);
    this.packed = packWeights(s.w);
    this.offsets = s.offsets;
    this.rows = s.w.rows;
  }

  /** The shipped codes of a weight, or the training recipe's quantisation of its float32 values. */
  static weights(w: Float32Array, rows: number, cols: number, fp8?: Fp8Weights): Fp8Weights {
    return fp8 ?? quantizeWeights(w, rows, cols);
  }

  forward(x: Float32Array, T: number): Float32Array {
    if (T === 0) return new Float32Array(0);
    return fp8GemmPacked(quantizeActivations(x, T, this.packed.cols, {}, scratchQuant(T, this.packed.cols)), this.packed, 'f32', scratchF32(T * this.rows));
  }
}

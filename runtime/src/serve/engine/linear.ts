// One inference projection y[T,out] = x[T,in]·Wᵀ in the engine's precision, with the weight prepared once at load:
//   fp32 — the training path's float32 loops (float64 accumulation), so the fp32 engine matches step() to rounding;
//   bf16 — the native BF16 GEMM on weights converted to bfloat16 once;
//   fp8  — the native FP8 GEMM on packed E4M3 weights (the export's own codes when loaded from one, else quantised
//          per 128×128 block exactly as the training FP8 path does), activations quantised per 1×128 tile per call.
import { bf16Gemm, f32ToBf16, fp8GemmPacked, packWeights, quantizeActivations, quantizeWeights, type Fp8Weights, type PackedFp8Weights } from '../../native/index.js';
import { matmulT } from '../../model/tensor.js';

export type GemmPrecision = 'fp32' | 'bf16' | 'fp8';

export class Linear {
  private readonly bf16?: Uint16Array;
  private readonly packed?: PackedFp8Weights;

  /** w: float32 [rows=out, cols=in]; fp8: the shipped codes for w, if any. */
  constructor(readonly name: string, readonly rows: number, readonly cols: number, readonly w: Float32Array, readonly precision: GemmPrecision, fp8?: Fp8Weights) {
    if (w.length !== rows * cols) throw new Error(`linear ${name}: ${w.length} values, expected ${rows}×${cols}`);
    if (precision === 'bf16') this.bf16 = f32ToBf16(w);
    else if (precision === 'fp8') this.packed = packWeights(fp8 ?? quantizeWeights(w, rows, cols));
  }

  forward(x: Float32Array, T: number): Float32Array {
    if (T === 0) return new Float32Array(0);
    if (this.packed) return fp8GemmPacked(quantizeActivations(x, T, this.cols), this.packed);
    if (this.bf16) return bf16Gemm(f32ToBf16(x), this.bf16, T, this.rows, this.cols);
    const y = new Float32Array(T * this.rows);
    matmulT(x, this.w, T, this.cols, this.rows, y);
    return y;
  }
}

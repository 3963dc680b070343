// SwiGLU feed-forward for inference: down(silu(gate(x)) ⊙ up(x)), the same arithmetic as the training ffn(). In fp8
// the gate and up projections run as ONE GEMM over their stacked weights (one quantisation of x, one call; each
// output exactly its own GEMM's, see stackFp8) and SiLU·up runs in the native row kernel (fp32, polynomial exp); fp32
// and bf16 keep the training ffn()'s float64 sigmoid, so the fp32 engine stays step()'s arithmetic.
import { sigmoid } from '../../model/tensor.js';
import { siluMulRows } from '../../native/index.js';
import { FusedFp8Linear, Linear, type GemmPrecision } from './linear.js';
import { scratchF32 } from './scratch.js';
import { need, type ModelWeights } from './weights.js';

/** a[t, i] = silu(y[t, g0+i]) · y[t, u0+i] for i < inner, rows of width ld: the fused fp8 path, in the native kernel. */
export function swigluRows(y: Float32Array, T: number, ld: number, g0: number, u0: number, inner: number): Float32Array {
  return siluMulRows(y, T, ld, g0, u0, inner, scratchF32(T * inner));
}

export class Ffn {
  private readonly gate?: Linear;
  private readonly up?: Linear;
  private readonly gateUp?: FusedFp8Linear;
  private readonly down: Linear;

  constructor(w: ModelWeights, prefix: string, d: number, private readonly inner: number, precision: GemmPrecision, source: string) {
    const lin = (name: string, rows: number, cols: number): Linear => new Linear(`${prefix}.${name}`, rows, cols, need(w, `${prefix}.${name}.weight`, rows * cols, source), precision, w.fp8.get(`${prefix}.${name}.weight`));
    if (precision === 'fp8') {
      const q = (name: string) => FusedFp8Linear.weights(need(w, `${prefix}.${name}.weight`, inner * d, source), inner, d, w.fp8.get(`${prefix}.${name}.weight`));
      this.gateUp = new FusedFp8Linear([q('gate_proj'), q('up_proj')]);
    } else {
      this.gate = lin('gate_proj', inner, d);
      this.up = lin('up_proj', inner, d);
    }
    this.down = lin('down_proj', d, inner);
  }

  forward(x: Float32Array, T: number): Float32Array {
    if (this.gateUp) {
      const y = this.gateUp.forward(x, T);
      return this.down.forward(swigluRows(y, T, this.gateUp.rows, 0, this.gateUp.offsets[1], this.inner), T);
    }
    const g = this.gate!.forward(x, T);
    const u = this.up!.forward(x, T);
    const a = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) a[i] = g[i] * sigmoid(g[i]) * u[i];
    return this.down.forward(a, T);
  }
}

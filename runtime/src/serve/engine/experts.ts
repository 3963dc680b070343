// Routed experts of one MoE layer as one unit — all of them, or the ones an EP rank hosts (`ids`, ascending): rows
// arrive grouped by local expert (offsets [ids.length+1]). In fp8 the experts'
// weights are stacked and packed once and each projection is ONE grouped FP8 GEMM over all experts (the gate and up
// projections share one quantisation of the input), instead of three GEMM calls per active expert; per row the
// arithmetic is the same as a per-expert GEMM. bf16/fp32 run expert by expert.
import { fp8GemmGroupedPacked, packWeights, quantizeActivations, quantizeWeights, type Fp8Weights, type PackedFp8Weights } from '../../native/index.js';
import { sigmoid } from '../../model/tensor.js';
import { Ffn } from './ffn.js';
import type { GemmPrecision } from './linear.js';
import { need, type ModelWeights } from './weights.js';

export class Experts {
  private readonly packed?: { gate: PackedFp8Weights; up: PackedFp8Weights; down: PackedFp8Weights };
  private readonly each?: Ffn[];

  private readonly E: number;

  constructor(w: ModelWeights, prefix: string, readonly ids: number[], private readonly d: number, private readonly inner: number, precision: GemmPrecision, source: string) {
    const E = (this.E = ids.length);
    if (precision !== 'fp8') {
      this.each = ids.map((e) => new Ffn(w, `${prefix}.experts.${e}`, d, inner, precision, source));
      return;
    }
    const stack = (proj: string, rows: number, cols: number): PackedFp8Weights => {
      const parts: Fp8Weights[] = [];
      for (const e of ids) {
        const name = `${prefix}.experts.${e}.${proj}.weight`;
        parts.push(w.fp8.get(name) ?? quantizeWeights(need(w, name, rows * cols, source), rows, cols));
      }
      const q = new Uint8Array(parts.reduce((s, p) => s + p.q.length, 0));
      const scaleInv = new Float32Array(parts.reduce((s, p) => s + p.scaleInv.length, 0));
      let qo = 0;
      let so = 0;
      for (const p of parts) {
        q.set(p.q, qo);
        scaleInv.set(p.scaleInv, so);
        qo += p.q.length;
        so += p.scaleInv.length;
      }
      return packWeights({ q, scaleInv, experts: E, rows, cols });
    };
    this.packed = { gate: stack('gate_proj', inner, d), up: stack('up_proj', inner, d), down: stack('down_proj', d, inner) };
  }

  /** xs [rows, d] grouped by expert → expert outputs [rows, d]. */
  forward(xs: Float32Array, offsets: Int32Array): Float32Array {
    const rows = offsets[this.E];
    if (rows === 0 || this.E === 0) return new Float32Array(0);
    if (this.each) {
      const y = new Float32Array(rows * this.d);
      for (let e = 0; e < this.E; e++) {
        const a = offsets[e];
        const b = offsets[e + 1];
        if (b > a) y.set(this.each[e].forward(xs.subarray(a * this.d, b * this.d), b - a), a * this.d);
      }
      return y;
    }
    const p = this.packed!;
    const qx = quantizeActivations(xs, rows, this.d);
    const g = fp8GemmGroupedPacked(qx, p.gate, offsets);
    const u = fp8GemmGroupedPacked(qx, p.up, offsets);
    const a = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) a[i] = g[i] * sigmoid(g[i]) * u[i];
    return fp8GemmGroupedPacked(quantizeActivations(a, rows, this.inner), p.down, offsets);
  }
}

// Routed experts of one MoE layer as one unit — all of them, or the ones an EP rank hosts (`ids`, ascending): rows
// arrive grouped by local expert (offsets [ids.length+1]). In fp8 the experts'
// weights are stacked and packed once and each projection is ONE grouped FP8 GEMM over all experts (gate and up
// stacked into one matrix: one quantisation of the input, one GEMM), instead of three GEMM calls per active expert; per row the
// arithmetic is the same as a per-expert GEMM. bf16/fp32 run expert by expert.
import { fp8GemmGroupedPacked, packWeights, quantizeActivations, quantizeWeights, type Fp8Weights, type PackedFp8Weights } from '../../native/index.js';
import { Ffn, swigluRows } from './ffn.js';
import { scratchF32, scratchQuant } from './scratch.js';
import { stackFp8, type GemmPrecision } from './linear.js';
import { need, type ModelWeights } from './weights.js';

export class Experts {
  private readonly packed?: { gateUp: PackedFp8Weights; down: PackedFp8Weights };
  private readonly upOffset: number = 0;
  private readonly guRows: number = 0;
  private readonly each?: Ffn[];

  private readonly E: number;

  constructor(w: ModelWeights, prefix: string, readonly ids: number[], private readonly d: number, private readonly inner: number, precision: GemmPrecision, source: string) {
    const E = (this.E = ids.length);
    if (precision !== 'fp8') {
      this.each = ids.map((e) => new Ffn(w, `${prefix}.experts.${e}`, d, inner, precision, source));
      return;
    }
    const get = (e: number, proj: string, rows: number, cols: number): Fp8Weights => {
      const name = `${prefix}.experts.${e}.${proj}.weight`;
      return w.fp8.get(name) ?? quantizeWeights(need(w, name, rows * cols, source), rows, cols);
    };
    const stack = (parts: Fp8Weights[], rows: number, cols: number): PackedFp8Weights => {
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
    // Gate and up of each expert stacked into one matrix (stackFp8: each keeps its own 128-row blocks), so the two
    // projections are one grouped GEMM.
    const gu = ids.map((e) => stackFp8([get(e, 'gate_proj', inner, d), get(e, 'up_proj', inner, d)]));
    this.upOffset = gu[0].offsets[1];
    this.guRows = gu[0].w.rows;
    this.packed = { gateUp: stack(gu.map((g) => g.w), this.guRows, d), down: stack(ids.map((e) => get(e, 'down_proj', d, inner)), d, inner) };
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
    const gu = fp8GemmGroupedPacked(quantizeActivations(xs, rows, this.d, {}, scratchQuant(rows, this.d)), p.gateUp, offsets, 'f32', scratchF32(rows * this.guRows));
    const a = swigluRows(gu, rows, this.guRows, 0, this.upOffset, this.inner);
    return fp8GemmGroupedPacked(quantizeActivations(a, rows, this.inner, {}, scratchQuant(rows, this.inner)), p.down, offsets, 'f32', scratchF32(rows * this.d));
  }
}

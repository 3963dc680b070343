// SwiGLU feed-forward for inference: down(silu(gate(x)) ⊙ up(x)), the same arithmetic as the training ffn().
import { sigmoid } from '../../model/tensor.js';
import { Linear, type GemmPrecision } from './linear.js';
import { need, type ModelWeights } from './weights.js';

export class Ffn {
  private readonly gate: Linear;
  private readonly up: Linear;
  private readonly down: Linear;

  constructor(w: ModelWeights, prefix: string, d: number, inner: number, precision: GemmPrecision, source: string) {
    const lin = (name: string, rows: number, cols: number): Linear => new Linear(`${prefix}.${name}`, rows, cols, need(w, `${prefix}.${name}.weight`, rows * cols, source), precision, w.fp8.get(`${prefix}.${name}.weight`));
    this.gate = lin('gate_proj', inner, d);
    this.up = lin('up_proj', inner, d);
    this.down = lin('down_proj', d, inner);
  }

  forward(x: Float32Array, T: number): Float32Array {
    const g = this.gate.forward(x, T);
    const u = this.up.forward(x, T);
    const a = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) a[i] = g[i] * sigmoid(g[i]) * u[i];
    return this.down.forward(a, T);
  }
}

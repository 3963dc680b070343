// DeepSeekMoE for inference: the training gate and router (runtime/src/model/router.ts, so routing is bit-identical),
// each routed (token, expert) pair handed to `dispatch` (which picks the physical replica and counts the load), the
// experts run on their rows in expert order and combined as in training, plus the shared expert.
// Within one process every replica of an expert shares the one set of weights.
import type { RuntimeModelConfig } from '../../model/config.js';
import { route, type RouteShape } from '../../model/router.js';
import { matmulT } from '../../model/tensor.js';
import { Ffn } from './ffn.js';
import type { GemmPrecision } from './linear.js';
import { need, type ModelWeights } from './weights.js';

/** Called once per forward with the [T, K] logical expert ids. */
export type Dispatch = (idx: Int32Array, T: number) => void;

export class Moe {
  private readonly gate: Float32Array;
  private readonly bias: Float32Array;
  private readonly experts: Ffn[];
  private readonly shared?: Ffn;
  private readonly shape: RouteShape;

  constructor(private readonly c: RuntimeModelConfig, w: ModelWeights, prefix: string, precision: GemmPrecision, source: string) {
    const d = c.hidden_size;
    const E = c.n_routed_experts;
    this.gate = need(w, `${prefix}.gate.weight`, E * d, source);
    this.bias = need(w, `${prefix}.gate.e_score_correction_bias`, E, source);
    this.experts = Array.from({ length: E }, (_, e) => new Ffn(w, `${prefix}.experts.${e}`, d, c.moe_intermediate_size, precision, source));
    if (c.n_shared_experts > 0) this.shared = new Ffn(w, `${prefix}.shared_experts`, d, c.n_shared_experts * c.moe_intermediate_size, precision, source);
    this.shape = { E, K: c.num_experts_per_tok, groups: c.n_group, topkGroup: c.topk_group, scale: c.routed_scaling_factor };
  }

  forward(x: Float32Array, T: number, dispatch: Dispatch): Float32Array {
    const d = this.c.hidden_size;
    const { E, K } = this.shape;
    const logits = new Float32Array(T * E);
    matmulT(x, this.gate, T, d, E, logits);
    const r = route(logits, this.bias, T, this.shape);
    dispatch(r.idx, T);
    const y = new Float32Array(T * d);
    for (let e = 0; e < E; e++) {
      const n = r.counts[e];
      if (n === 0) continue;
      const rows = new Int32Array(n);
      const slots = new Int32Array(n);
      let m = 0;
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < K; k++) {
          if (r.idx[t * K + k] === e) {
            rows[m] = t;
            slots[m++] = t * K + k;
          }
        }
      }
      const xe = new Float32Array(n * d);
      for (let i = 0; i < n; i++) xe.set(x.subarray(rows[i] * d, rows[i] * d + d), i * d);
      const ye = this.experts[e].forward(xe, n);
      for (let i = 0; i < n; i++) {
        const wt = r.weight[slots[i]];
        for (let j = 0; j < d; j++) y[rows[i] * d + j] += wt * ye[i * d + j];
      }
    }
    if (this.shared) {
      const s = this.shared.forward(x, T);
      for (let i = 0; i < y.length; i++) y[i] += s[i];
    }
    return y;
  }
}

// DeepSeekMoE for inference: the training gate and router (runtime/src/model/router.ts, so routing is bit-identical),
// each routed (token, expert) pair handed to `dispatch` (which picks the physical replica and counts the load), the
// experts run on their rows grouped by expert (experts.ts), combined in expert order as in training, plus the shared
// expert.
// Within one process every replica of an expert shares the one set of weights.
import type { RuntimeModelConfig } from '../../model/config.js';
import { route, type RouteShape } from '../../model/router.js';
import { matmulT } from '../../model/tensor.js';
import { Experts } from './experts.js';
import { Ffn } from './ffn.js';
import type { GemmPrecision } from './linear.js';
import { need, type ModelWeights } from './weights.js';

/** Called once per forward with the [T, K] logical expert ids. */
export type Dispatch = (idx: Int32Array, T: number) => void;

export class Moe {
  private readonly gate: Float32Array;
  private readonly bias: Float32Array;
  private readonly experts: Experts;
  private readonly shared?: Ffn;
  private readonly shape: RouteShape;

  constructor(private readonly c: RuntimeModelConfig, w: ModelWeights, prefix: string, precision: GemmPrecision, source: string) {
    const d = c.hidden_size;
    const E = c.n_routed_experts;
    this.gate = need(w, `${prefix}.gate.weight`, E * d, source);
    this.bias = need(w, `${prefix}.gate.e_score_correction_bias`, E, source);
    this.experts = new Experts(w, prefix, E, d, c.moe_intermediate_size, precision, source);
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
    // Rows grouped by expert, tokens ascending within an expert; slotOf[row] = t·K + k.
    const offsets = new Int32Array(E + 1);
    for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e] + r.counts[e];
    const fill = offsets.slice(0, E);
    const slotOf = new Int32Array(T * K);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) slotOf[fill[r.idx[t * K + k]]++] = t * K + k;
    const xs = new Float32Array(T * K * d);
    for (let i = 0; i < T * K; i++) {
      const t = Math.floor(slotOf[i] / K);
      xs.set(x.subarray(t * d, t * d + d), i * d);
    }
    const ys = this.experts.forward(xs, offsets);
    // Combined expert by expert, as the training layer does (the same float rounding order).
    const y = new Float32Array(T * d);
    for (let i = 0; i < T * K; i++) {
      const t = Math.floor(slotOf[i] / K);
      const wt = r.weight[slotOf[i]];
      for (let j = 0; j < d; j++) y[t * d + j] += wt * ys[i * d + j];
    }
    if (this.shared) {
      const s = this.shared.forward(x, T);
      for (let i = 0; i < y.length; i++) y[i] += s[i];
    }
    return y;
  }
}

// DeepSeekMoE for inference: the training gate and router (runtime/src/model/gate.ts, so routing is bit-identical),
// each routed (token, expert) pair handed to `dispatch` (which picks the physical replica, counts the load and returns
// the slot), the experts run on their rows grouped by expert (experts.ts) — here, or on the EP ranks hosting the
// chosen slots (expert-parallel.ts) — and are combined in expert order as in training, plus the shared expert.
import type { RuntimeModelConfig } from '../../model/config.js';
import { route, type RouteResult, type RouteShape } from '../../model/gate.js';
import { matmulT } from '../../model/tensor.js';
import { nativeAvailable } from '../../model/precision.js';
import { matmulTF64, transposeF64 } from '../../native/index.js';
import { Experts } from './experts.js';
import { Ffn } from './ffn.js';
import { combinePairs, gatherPairs } from './rows.js';
import type { GemmPrecision } from './linear.js';
import { need, type ModelWeights } from './weights.js';

/** Called once per forward with the [T, K] logical expert ids; returns the physical slot serving each pair. */
export type Dispatch = (idx: Int32Array, T: number) => Int32Array;

/** The routed rows of one MoE forward, grouped by logical expert (tokens ascending within an expert). */
export interface MoePlan {
  T: number;
  r: RouteResult;
  /** [E+1] rows of expert e: [offsets[e], offsets[e+1]). */
  offsets: Int32Array;
  /** [rows] the pair t·K + k each row holds. */
  pairOf: Int32Array;
  /** [rows] the physical slot that serves each row. */
  slotOfRow: Int32Array;
  /** [rows] logical expert of each row. */
  expertOfRow: Int32Array;
  /** [rows, d] the rows' inputs. */
  xs: Float32Array;
}

export class Moe {
  private readonly gate: Float32Array;
  private readonly bias: Float32Array;
  /** The gate transposed in float64 for the native kernel (absent without the addon). */
  private readonly gateT?: Float64Array;
  readonly experts: Experts;
  private readonly shared?: Ffn;
  private readonly shape: RouteShape;

  constructor(private readonly c: RuntimeModelConfig, w: ModelWeights, prefix: string, precision: GemmPrecision, source: string) {
    const d = c.hidden_size;
    const E = c.n_routed_experts;
    this.gate = need(w, `${prefix}.gate.weight`, E * d, source);
    this.bias = need(w, `${prefix}.gate.e_score_correction_bias`, E, source);
    // The native kernel gives matmulT's bits (float64 sums in input order), so routing stays the training router's.
    if (nativeAvailable()) this.gateT = transposeF64(this.gate, E, d);
    this.experts = new Experts(w, prefix, Array.from({ length: E }, (_, e) => e), d, c.moe_intermediate_size, precision, source);
    if (c.n_shared_experts > 0) this.shared = new Ffn(w, `${prefix}.shared_experts`, d, c.n_shared_experts * c.moe_intermediate_size, precision, source);
    this.shape = { E, K: c.num_experts_per_tok, groups: c.n_group, topkGroup: c.topk_group, scale: c.routed_scaling_factor };
  }

  /** Gate, route, choose replicas, gather the rows. */
  plan(x: Float32Array, T: number, dispatch: Dispatch): MoePlan {
    const d = this.c.hidden_size;
    const { E, K } = this.shape;
    let logits: Float32Array;
    if (this.gateT) logits = matmulTF64(x, this.gateT, T, d, E);
    else {
      logits = new Float32Array(T * E);
      matmulT(x, this.gate, T, d, E, logits);
    }
    const r = route(logits, this.bias, T, this.shape);
    const slots = dispatch(r.idx, T);
    const offsets = new Int32Array(E + 1);
    for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e] + r.counts[e];
    const fill = offsets.slice(0, E);
    const pairOf = new Int32Array(T * K);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) pairOf[fill[r.idx[t * K + k]]++] = t * K + k;
    const xs = gatherPairs(x, pairOf, T, K, d);
    const slotOfRow = new Int32Array(T * K);
    const expertOfRow = new Int32Array(T * K);
    for (let i = 0; i < T * K; i++) {
      slotOfRow[i] = slots[pairOf[i]];
      expertOfRow[i] = r.idx[pairOf[i]];
    }
    return { T, r, offsets, pairOf, slotOfRow, expertOfRow, xs };
  }

  /** The routed experts on every row here (one process holds them all). */
  runLocal(p: MoePlan): Float32Array {
    return this.experts.forward(p.xs, p.offsets);
  }

  /** Combines the rows' expert outputs (expert by expert, the training layer's rounding order) and adds the shared expert. */
  finish(p: MoePlan, ys: Float32Array, x: Float32Array): Float32Array {
    const d = this.c.hidden_size;
    return combinePairs(ys, p.pairOf, p.r.weight, p.T, this.shape.K, d, this.shared?.forward(x, p.T));
  }

  forward(x: Float32Array, T: number, dispatch: Dispatch): Float32Array {
    const p = this.plan(x, T, dispatch);
    return this.finish(p, this.runLocal(p), x);
  }
}

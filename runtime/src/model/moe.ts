// DeepSeekMoE layer: shared expert(s) on every token + top-k routed SwiGLU experts, combined with the router's
// weights. The gate runs in the arrays' precision on plain loops (the recipe keeps gating out of FP8).
import type { RuntimeModelConfig } from './config.js';
import { addFfnParams, ffn } from './ffn.js';
import type { Ctx } from './gemm.js';
import type { Fwd } from './norm.js';
import type { Params } from './params.js';
import { balanceLoss, route, routeBackward, type RouteResult, type RouteShape } from './gate.js';
import { matmulN, matmulT, matmulTN, type Vec } from './tensor.js';
import { enter, leave, timed } from './profile.js';
import { axpy, sgemmDgrad, sgemmForward, sgemmWgrad } from '../native/train-ops.js';
import { combine, combineBackward, dispatch, dispatchBackward, dispatchPlan } from '../native/routing.js';
import { groupedExperts, groupedExpertsApply } from './moe-grouped.js';

export function addMoeParams(P: Params, prefix: string, c: RuntimeModelConfig): void {
  const d = c.hidden_size;
  P.add(`${prefix}.gate.weight`, [c.n_routed_experts, d], true);
  P.buffers.set(`${prefix}.gate.e_score_correction_bias`, P.alloc(c.n_routed_experts));
  for (let e = 0; e < c.n_routed_experts; e++) addFfnParams(P, `${prefix}.experts.${e}`, d, c.moe_intermediate_size);
  if (c.n_shared_experts > 0) addFfnParams(P, `${prefix}.shared_experts`, d, c.n_shared_experts * c.moe_intermediate_size);
}

export interface MoeFwd extends Fwd {
  counts: Int32Array;
  balance: number;
}

/** The gate of one MoE forward: routing, balance loss, and the backward from the combine weights' gradient. */
export interface MoeGate {
  r: RouteResult;
  balance: number;
  /** dWeight [T·K]: gradient on the combine weights; adds the gate's input gradient into dx (and the gate weight's). */
  back(dWeight: Float64Array, dx: Vec): void;
}

/** Gate logits, routing and (alpha > 0) the sequence-wise balance loss; shared by the local and expert-parallel MoE. */
export function moeGate(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Vec, T: number, S: number, alpha: number): MoeGate {
  const d = c.hidden_size;
  const E = c.n_routed_experts;
  const K = c.num_experts_per_tok;
  const shape: RouteShape = { E, K, groups: c.n_group, topkGroup: c.topk_group, scale: c.routed_scaling_factor };
  const gate = P.get(`${prefix}.gate.weight`);
  // The router's GEMMs in float32 (native on the training path), never FP8.
  const nat = ctx.native === true && x instanceof Float32Array && gate.data instanceof Float32Array && gate.grad instanceof Float32Array && dxIsF32(ctx);
  const logits = nat ? timed('gemm', () => sgemmForward(x as Float32Array, gate.data as Float32Array, T, d, E)) : ctx.alloc(T * E);
  if (!nat) timed('gemm', () => matmulT(x, gate.data, T, d, E, logits));
  enter('ops');
  const r = route(logits, P.buffer(`${prefix}.gate.e_score_correction_bias`), T, shape);
  const bal = alpha > 0 ? balanceLoss(r, T, S, E, K, alpha) : undefined;
  leave();
  return {
    r,
    balance: bal?.loss ?? 0,
    back(dWeight, dx) {
      enter('ops');
      const dl64 = routeBackward(r, dWeight, bal?.dScores, T, shape);
      const dl = ctx.alloc(T * E);
      dl.set(dl64);
      leave();
      enter('gemm');
      if (nat && dl instanceof Float32Array && dx instanceof Float32Array) {
        sgemmWgrad(dl, x as Float32Array, T, E, d, gate.grad as Float32Array);
        sgemmDgrad(dl, gate.data as Float32Array, T, E, d, dx);
      } else {
        matmulTN(dl, x, T, E, d, gate.grad);
        matmulN(dl, gate.data, T, E, d, dx);
      }
      leave();
    },
  };
}

function dxIsF32(ctx: Ctx): boolean {
  return ctx.alloc(0) instanceof Float32Array;
}

/** The shared expert(s) on every token, if the model has any. */
export function sharedExperts(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Vec, T: number): Fwd | undefined {
  return c.n_shared_experts > 0 ? ffn(ctx, P, `${prefix}.shared_experts`, x, T) : undefined;
}

export function moe(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Vec, T: number, S: number, alpha: number): MoeFwd {
  const d = c.hidden_size;
  const E = c.n_routed_experts;
  const K = c.num_experts_per_tok;
  const gating = moeGate(ctx, P, prefix, c, x, T, S, alpha);
  if (ctx.native === true && x instanceof Float32Array) return moeNative(ctx, P, prefix, c, x, T, gating);
  const r = gating.r;

  const y = ctx.alloc(T * d);
  // Group (token, slot) pairs by expert, in token order, and run each expert on its rows.
  const experts: { rows: Int32Array; slots: Int32Array; fwd: Fwd }[] = [];
  enter('ops');
  for (let e = 0; e < E; e++) {
    const n = r.counts[e];
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
    if (n === 0) continue;
    const xe = ctx.alloc(n * d);
    for (let i = 0; i < n; i++) xe.set(x.subarray(rows[i] * d, rows[i] * d + d), i * d);
    leave();
    const fwd = ffn(ctx, P, `${prefix}.experts.${e}`, xe, n);
    enter('ops');
    for (let i = 0; i < n; i++) {
      const w = r.weight[slots[i]];
      for (let j = 0; j < d; j++) y[rows[i] * d + j] += w * fwd.y[i * d + j];
    }
    experts.push({ rows, slots, fwd });
  }
  leave();
  const shared = sharedExperts(ctx, P, prefix, c, x, T);
  if (shared) timed('ops', () => { for (let i = 0; i < y.length; i++) y[i] += shared.y[i]; });

  return {
    y,
    counts: r.counts,
    balance: gating.balance,
    back(dy) {
      const dx = shared ? shared.back(dy) : ctx.alloc(T * d);
      const dWeight = new Float64Array(T * K);
      for (const { rows, slots, fwd } of experts) {
        enter('ops');
        const n = rows.length;
        const dye = ctx.alloc(n * d);
        for (let i = 0; i < n; i++) {
          const w = r.weight[slots[i]];
          let dot = 0;
          for (let j = 0; j < d; j++) {
            const g = dy[rows[i] * d + j];
            dye[i * d + j] = w * g;
            dot += g * fwd.y[i * d + j];
          }
          dWeight[slots[i]] = dot;
        }
        leave();
        const dxe = fwd.back(dye);
        enter('ops');
        for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) dx[rows[i] * d + j] += dxe[i * d + j];
        leave();
      }
      gating.back(dWeight, dx);
      return dx;
    },
  };
}

/**
 * moe() on the addon's dispatch and combine (the training path in fp8/bf16): the (token, slot) rows in the same
 * expert-contiguous order (expert by expert, tokens ascending), each expert's FFN on its slice of one dispatched
 * matrix, the combine and its backward native; combine weights in float32.
 */
function moeNative(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, x: Float32Array, T: number, gating: MoeGate): MoeFwd {
  const d = c.hidden_size;
  const E = c.n_routed_experts;
  const K = c.num_experts_per_tok;
  const r = gating.r;
  enter('ops');
  const plan = dispatchPlan(r.idx, T, K, E);
  const xs = dispatch(x, d, plan);
  const eo = new Float32Array(T * K * d);
  const w32 = Float32Array.from(r.weight);
  leave();
  const off = plan.offsets;
  const experts: { e: number; fwd: Fwd }[] = [];
  // FP8: the experts through the grouped GEMM (moe-grouped.ts); otherwise one FFN per expert on its slice.
  const grouped = groupedExpertsApply(ctx, c) ? groupedExperts(ctx, P, prefix, c, xs, off) : undefined;
  if (grouped) eo.set(grouped.y);
  for (let e = 0; e < (grouped ? 0 : E); e++) {
    const n = off[e + 1] - off[e];
    if (n === 0) continue;
    const fwd = ffn(ctx, P, `${prefix}.experts.${e}`, xs.subarray(off[e] * d, off[e + 1] * d), n);
    eo.set(fwd.y, off[e] * d);
    experts.push({ e, fwd });
  }
  enter('ops');
  const y = combine(eo, w32, d, plan);
  leave();
  const shared = sharedExperts(ctx, P, prefix, c, x, T);
  if (shared) timed('ops', () => axpy(y, shared.y as Float32Array, 1));
  return {
    y,
    counts: r.counts,
    balance: gating.balance,
    back(dy) {
      const dx = shared ? shared.back(dy) : ctx.alloc(T * d);
      enter('ops');
      const cb = combineBackward(dy as Float32Array, eo, w32, d, plan);
      const drows = new Float32Array(T * K * d);
      leave();
      if (grouped) drows.set(grouped.back(cb.dExpertOut));
      for (const { e, fwd } of experts) drows.set(fwd.back(cb.dExpertOut.subarray(off[e] * d, off[e + 1] * d)), off[e] * d);
      enter('ops');
      axpy(dx as Float32Array, dispatchBackward(drows, d, plan), 1);
      const dWeight = Float64Array.from(cb.dWeights);
      leave();
      gating.back(dWeight, dx);
      return dx;
    },
  };
}

// The routed experts of one MoE layer through the grouped FP8 GEMM (fp8 on the addon): the dispatched rows quantised
// once, each projection's expert weights quantised once per step into one stack, three grouped GEMM calls instead of
// three per expert. The backward is two native calls (fp8ExpertsBackward: down, then gate and up sharing x's blocks)
// on the forward's stacked codes, each expert's products on its own rows (its wgrad contracts over them); under a
// wrapped GEMM (deferred wgrad) it runs per expert through the context's GEMMs instead. The results are those of
// ffn() on each expert's rows. Needs moe_intermediate_size and hidden_size multiples of 128 (whole 128×128 blocks per expert).
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import type { Params } from './params.js';
import { keepForwardWeights } from './precision.js';
import { enter, leave, recharge, timed } from './profile.js';
import { fp8ExpertsBackward, fp8GemmGrouped, quantizeActivations, quantizeWeightsStacked, type Fp8ExpertWeights } from '../native/index.js';
import { swigluBackward, swigluForward } from '../native/train-ops.js';

// Each projection's stacked codes, refilled by every forward (keyed by its first expert's weight): no fresh arrays
// per step (a pipeline's next microbatch writes the same codes before this one's backward: the weights have not changed).
const stackBuffers = new WeakMap<object, { q: Uint8Array; scaleInv: Float32Array }>();

export function groupedExpertsApply(ctx: Ctx, c: RuntimeModelConfig): boolean {
  return ctx.native === true && ctx.linear.name === 'fp8-native' && c.moe_intermediate_size % 128 === 0 && c.hidden_size % 128 === 0;
}

/**
 * xs [R, d]: dispatched rows, the i-th expert of `experts` (default: all of the layer's, in order) owning rows
 * [off[i], off[i+1]). Returns the expert outputs [R, d]. Expert parallelism passes the experts its rank hosts.
 */
export function groupedExperts(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, xs: Float32Array, off: Int32Array,
  experts: readonly number[] = Array.from({ length: c.n_routed_experts }, (_, e) => e)): { y: Float32Array; back(dy: Float32Array): Float32Array } {
  const E = experts.length, d = c.hidden_size, inner = c.moe_intermediate_size, R = off[E];
  if (off.length !== E + 1) throw new Error(`groupedExperts: offsets has ${off.length} entries for ${E} experts, expected ${E + 1}`);
  const W = (i: number, w: string) => P.get(`${prefix}.experts.${experts[i]}.${w}_proj.weight`);
  // The native backward (fp8-native's) reads the stacked codes itself; a wrapped GEMM (deferred wgrad) gets each
  // expert's codes handed to its dgrad, as after its own forward.
  const fused = ctx.linear.backward !== undefined;
  enter('quant');
  const stacked = (w: string, rows: number, cols: number): Fp8ExpertWeights => {
    const first = W(0, w).data;
    let buf = stackBuffers.get(first);
    if (!buf || buf.q.length !== E * rows * cols) stackBuffers.set(first, (buf = { q: new Uint8Array(E * rows * cols), scaleInv: new Float32Array(E * (rows / 128) * Math.ceil(cols / 128)) }));
    const q = quantizeWeightsStacked(experts.map((_, e) => W(e, w).data as Float32Array), rows, cols, buf);
    const n = rows * cols, nb = (rows / 128) * Math.ceil(cols / 128);
    for (let e = 0; e < (fused ? 0 : E); e++) keepForwardWeights(W(e, w).data, { q: q.q.subarray(e * n, (e + 1) * n), scaleInv: q.scaleInv.subarray(e * nb, (e + 1) * nb), rows, cols });
    return q;
  };
  const qx = quantizeActivations(xs, R, d);
  const qg = stacked('gate', inner, d), qu = stacked('up', inner, d), qd = stacked('down', d, inner);
  leave();
  const g = timed('gemm', () => fp8GemmGrouped(qx, qg, off));
  const u = timed('gemm', () => fp8GemmGrouped(qx, qu, off));
  const a = timed('ops', () => swigluForward(g, u));
  const qa = timed('quant', () => quantizeActivations(a, R, inner));
  const y = timed('gemm', () => fp8GemmGrouped(qa, qd, off));
  const grads = (w: string) => experts.map((_, e) => W(e, w).grad as Float32Array);
  if (fused) {
    return {
      y,
      back(dy) {
        const da = new Float32Array(R * inner), dxs = new Float32Array(R * d);
        enter('gemm');
        recharge('quant', fp8ExpertsBackward(a, inner, off, [dy], d, [qd], da, [grads('down')]));
        leave();
        const { dg, du } = timed('ops', () => swigluBackward(g, u, da));
        enter('gemm');
        recharge('quant', fp8ExpertsBackward(xs, d, off, [dg, du], inner, [qg, qu], dxs, [grads('gate'), grads('up')]));
        leave();
        return dxs;
      },
    };
  }
  return {
    y,
    back(dy) {
      const lin = ctx.linear;
      const da = new Float32Array(R * inner);
      for (let e = 0; e < E; e++) {
        const n = off[e + 1] - off[e];
        if (n === 0) continue;
        const dye = dy.subarray(off[e] * d, off[e + 1] * d), Wd = W(e, 'down');
        lin.wgrad(dye, a.subarray(off[e] * inner, off[e + 1] * inner), n, d, inner, Wd.grad);
        lin.dgrad(dye, Wd.data, n, d, inner, da.subarray(off[e] * inner, off[e + 1] * inner));
      }
      const { dg, du } = timed('ops', () => swigluBackward(g, u, da));
      const dxs = new Float32Array(R * d);
      for (let e = 0; e < E; e++) {
        const n = off[e + 1] - off[e];
        if (n === 0) continue;
        const xe = xs.subarray(off[e] * d, off[e + 1] * d), dxe = dxs.subarray(off[e] * d, off[e + 1] * d);
        for (const [w, gr] of [['gate', dg], ['up', du]] as const) {
          const p = W(e, w), gre = gr.subarray(off[e] * inner, off[e + 1] * inner);
          lin.wgrad(gre, xe, n, inner, d, p.grad);
          lin.dgrad(gre, p.data, n, inner, d, dxe);
        }
      }
      return dxs;
    },
  };
}

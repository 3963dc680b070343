// One decoder layer: h + Attn(RMSNorm(h)), then + MLP(RMSNorm(·)), the MLP being the dense FFN or the MoE. The
// wiring is one generator (blockSteps) that stops at the MLP and its backward (mlp-hook.ts): block() runs it with the
// local MLP; the layer-range forward (layer-range.ts) runs it with whatever hook it is given.
import { addAttentionParams, attention } from './attention.js';
import { isMoeLayer, type RuntimeModelConfig } from './config.js';
import { addFfnParams, ffn } from './ffn.js';
import type { Ctx } from './gemm.js';
import { callHook, drive, type MlpBack, type MlpCall, type MlpFwd, type MlpHook, type MlpOut } from './mlp-hook.js';
import { addMoeParams, moe } from './moe.js';
import { rmsnorm, type Fwd } from './norm.js';
import type { Params } from './params.js';
import { added, addInto, type Vec } from './tensor.js';
import { timed } from './profile.js';

export function addBlockParams(P: Params, prefix: string, c: RuntimeModelConfig, layer: number): void {
  P.add(`${prefix}.input_layernorm.weight`, [c.hidden_size], false);
  addAttentionParams(P, `${prefix}.self_attn`, c);
  P.add(`${prefix}.post_attention_layernorm.weight`, [c.hidden_size], false);
  if (isMoeLayer(c, layer)) addMoeParams(P, `${prefix}.mlp`, c);
  else addFfnParams(P, `${prefix}.mlp`, c.hidden_size, c.intermediate_size);
}

export interface BlockFwd extends Fwd {
  /** Routed tokens per expert (MoE layers only). */
  counts?: Int32Array;
  balance: number;
}

/** A layer after its forward, M being its MLP's forward; `back` is a generator that stops at the MLP's backward. */
export interface BlockSteps<M> extends MlpOut {
  back(dy: Vec): Generator<MlpBack<M>, Vec, Vec>;
}

/** starts: segment starts of packed samples for the attention (attention.ts); absent: whole sequences. */
export function* blockSteps<M extends MlpOut>(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, h: Vec,
  T: number, S: number, alpha: number, starts?: Int32Array): Generator<MlpCall, BlockSteps<M>, M> {
  const d = c.hidden_size;
  const n1 = P.get(`${prefix}.input_layernorm.weight`);
  const a1 = rmsnorm(h, n1.data, n1.grad, T, d, c.rms_norm_eps, ctx.alloc, ctx.native);
  const at = attention(ctx, P, `${prefix}.self_attn`, c, a1.y, T, S, starts);
  const h1 = timed('ops', () => added(h, at.y, ctx.alloc, ctx.native));
  const n2 = P.get(`${prefix}.post_attention_layernorm.weight`);
  const a2 = rmsnorm(h1, n2.data, n2.grad, T, d, c.rms_norm_eps, ctx.alloc, ctx.native);
  const f = yield { prefix: `${prefix}.mlp`, layer, x: a2.y, T, S, alpha };
  const y = timed('ops', () => added(h1, f.y, ctx.alloc, ctx.native));
  return {
    y,
    counts: f.counts,
    balance: f.balance,
    *back(dy) {
      const dh1 = a2.back(yield { of: f, dy });
      timed('ops', () => addInto(dh1, dy, ctx.native));
      const dh = a1.back(at.back(dh1));
      timed('ops', () => addInto(dh, dh1, ctx.native));
      return dh;
    },
  };
}

/** The layer's own MLP in this process: the MoE on MoE layers, the dense SwiGLU FFN elsewhere. */
export const localMlp: MlpHook = (ctx, P, prefix, c, layer, x, T, S, alpha) => {
  if (isMoeLayer(c, layer)) return moe(ctx, P, prefix, c, x, T, S, alpha);
  const f = ffn(ctx, P, prefix, x, T);
  return { y: f.y, balance: 0, back: f.back };
};

/** The backward answer of the synchronous driver. */
export const localBack = (b: MlpBack<MlpFwd>): Vec => b.of.back(b.dy);

export function block(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, h: Vec, T: number, S: number, alpha: number): BlockFwd {
  const f = drive(blockSteps<MlpFwd>(ctx, P, prefix, c, layer, h, T, S, alpha), callHook(localMlp, ctx, P, c));
  return { y: f.y, counts: f.counts, balance: f.balance, back: (dy) => drive(f.back(dy), localBack) };
}

// One decoder layer: h + Attn(RMSNorm(h)), then + FFN or MoE of RMSNorm(·).
import { addAttentionParams, attention } from './attention.js';
import { isMoeLayer, type RuntimeModelConfig } from './config.js';
import { addFfnParams, ffn } from './ffn.js';
import type { Ctx } from './gemm.js';
import { addMoeParams, moe } from './moe.js';
import { rmsnorm, type Fwd } from './norm.js';
import type { Params } from './params.js';
import type { Vec } from './tensor.js';

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

export function block(ctx: Ctx, P: Params, prefix: string, c: RuntimeModelConfig, layer: number, h: Vec, T: number, S: number, alpha: number): BlockFwd {
  const d = c.hidden_size;
  const n1 = P.get(`${prefix}.input_layernorm.weight`);
  const a1 = rmsnorm(h, n1.data, n1.grad, T, d, c.rms_norm_eps, ctx.alloc);
  const at = attention(ctx, P, `${prefix}.self_attn`, c, a1.y, T, S);
  const h1 = ctx.alloc(T * d);
  for (let i = 0; i < h1.length; i++) h1[i] = h[i] + at.y[i];
  const n2 = P.get(`${prefix}.post_attention_layernorm.weight`);
  const a2 = rmsnorm(h1, n2.data, n2.grad, T, d, c.rms_norm_eps, ctx.alloc);
  const m = isMoeLayer(c, layer) ? moe(ctx, P, `${prefix}.mlp`, c, a2.y, T, S, alpha) : undefined;
  const f = m ?? ffn(ctx, P, `${prefix}.mlp`, a2.y, T);
  const y = ctx.alloc(T * d);
  for (let i = 0; i < y.length; i++) y[i] = h1[i] + f.y[i];
  return {
    y,
    counts: m?.counts,
    balance: m?.balance ?? 0,
    back(dy) {
      const dh1 = a2.back(f.back(dy));
      for (let i = 0; i < dh1.length; i++) dh1[i] += dy[i];
      const dh = a1.back(at.back(dh1));
      for (let i = 0; i < dh.length; i++) dh[i] += dh1[i];
      return dh;
    },
  };
}

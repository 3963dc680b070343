// A decoder layer whose MoE runs expert-parallel: the model's attention, norms and dense FFN as in model/block.ts,
// with the MoE replaced by moe-ep.ts. Dense layers fall through to the model's own block.
import { attention } from '../model/attention.js';
import { isMoeLayer } from '../model/config.js';
import { rmsnorm } from '../model/norm.js';
import { expertParallelBlockMoe, type EpOptions } from './moe-ep.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { localBlock, type BlockFn } from './stage.js';

/** experts[q]: the routed experts EP rank q hosts (the plan's placement); `back`: the backward's communicator. */
export function expertParallelBlock(ep: ProcessGroup, o: EpOptions, experts: number[][], back: ProcessGroup = ep): BlockFn {
  const moe = expertParallelBlockMoe(ep, o, experts, back);
  return async (ctx, P, prefix, c, layer, h, T, S, alpha) => {
    if (!isMoeLayer(c, layer)) return localBlock(ctx, P, prefix, c, layer, h, T, S, alpha);
    const d = c.hidden_size;
    const n1 = P.get(`${prefix}.input_layernorm.weight`);
    const a1 = rmsnorm(h, n1.data, n1.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const at = attention(ctx, P, `${prefix}.self_attn`, c, a1.y, T, S);
    const h1 = ctx.alloc(T * d);
    for (let i = 0; i < h1.length; i++) h1[i] = h[i] + at.y[i];
    const n2 = P.get(`${prefix}.post_attention_layernorm.weight`);
    const a2 = rmsnorm(h1, n2.data, n2.grad, T, d, c.rms_norm_eps, ctx.alloc);
    const f = await moe(ctx, P, `${prefix}.mlp`, c, a2.y, T, S, alpha);
    const y = ctx.alloc(T * d);
    for (let i = 0; i < y.length; i++) y[i] = h1[i] + f.y[i];
    return {
      y, counts: f.counts, balance: f.balance,
      async back(dy) {
        const dh1 = a2.back(await f.back(dy));
        for (let i = 0; i < dh1.length; i++) dh1[i] += dy[i];
        const dh = a1.back(at.back(dh1));
        for (let i = 0; i < dh.length; i++) dh[i] += dh1[i];
        return dh;
      },
    };
  };
}

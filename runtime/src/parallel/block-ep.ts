// The expert-parallel MLP hook of the model's layer-range forward (model/mlp-hook.ts): MoE layers run moe-ep.ts
// (routed experts on the EP ranks hosting them), dense layers the model's own FFN. The decoder layer around it is
// the model's (model/block.ts).
import { localMlp } from '../model/block.js';
import { isMoeLayer } from '../model/config.js';
import type { AsyncMlpHook } from '../model/mlp-hook.js';
import type { ProcessGroup } from '../comm/process-group.js';
import { expertParallelBlockMoe, type EpOptions } from './moe-ep.js';

/** experts[q]: the routed experts EP rank q hosts (the plan's placement); `back`: the backward's communicator. */
export function expertParallelBlock(ep: ProcessGroup, o: EpOptions, experts: number[][], back: ProcessGroup = ep): AsyncMlpHook {
  const moe = expertParallelBlockMoe(ep, o, experts, back);
  return (ctx, P, prefix, c, layer, x, T, S, alpha) =>
    isMoeLayer(c, layer) ? moe(ctx, P, prefix, c, x, T, S, alpha) : localMlp(ctx, P, prefix, c, layer, x, T, S, alpha);
}

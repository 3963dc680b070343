// One pipeline stage's forward and backward for one micro-batch: the model's layer-range forward
// (model/layer-range.ts) over the stage's layers. Stage 0 embeds; the last stage owns the final norm, the head, the
// loss and the MTP modules (which also read the embedding: its gradient from there is summed with stage 0's by the
// engine). Every loss counts 1/C of the step's (C micro-batches). With expert parallelism the MoE layers' MLP is
// the hook of block-ep.ts; otherwise the model's own layers run.
import { localMlp } from '../model/block.js';
import type { RuntimeModelConfig } from '../model/config.js';
import type { Ctx } from '../model/gemm.js';
import { forwardRangeAsync, type RangeFwd } from '../model/layer-range.js';
import type { AsyncMlpHook } from '../model/mlp-hook.js';
import type { Params } from '../model/params.js';
import type { Vec } from '../model/tensor.js';
import type { TokenObjective } from '../model/loss.js';
import { stageLayerRange } from './param-placement.js';

/** Layers [from, to) of stage `s` out of `stages`: the planner's split (param-placement.ts), which also says who holds them. */
export const stageLayers = stageLayerRange;

export interface StageOptions {
  /** Micro-batches per step: each one's loss counts 1/C of the step's. */
  microBatches: number;
  alpha: number;
  mtpLambda: number;
  /** This micro-batch's segment ids and per-token objective (model/token-batch.ts); absent in pre-training. */
  segments?: Int32Array;
  objective?: TokenObjective;
}

/** The hook that runs each layer's MLP (dense FFN or MoE) of a stage: model/mlp-hook.ts (named for pp-trainer.ts). */
export type BlockFn = AsyncMlpHook;

/** Output activations y on every stage but the last; back(dy) returns the gradient on the input (undefined on stage 0). */
export type StageFwd = RangeFwd<Promise<Vec | undefined>>;

/** tokens: B windows of S+1+D tokens; input: the previous stage's activations (stages > 0). */
export function stageForward(ctx: Ctx, P: Params, c: RuntimeModelConfig, stage: number, stages: number,
  tokens: Int32Array, B: number, S: number, o: StageOptions, input?: Vec, blockFn: BlockFn = localMlp): Promise<StageFwd> {
  const { from, to } = stageLayers(c.num_hidden_layers, stages, stage);
  const n = B * S * c.hidden_size;
  if (stage > 0 && input?.length !== n) throw new Error(`stage ${stage}: expected input activations of ${n} values`);
  return forwardRangeAsync(ctx, P, c, tokens, B, S, { from, to, embed: stage === 0, head: stage === stages - 1 }, o, input, blockFn);
}

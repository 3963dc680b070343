// The whole DeepSeek-V3-style model: its parameters with DeepSeek's names, and one training step's forward (and
// backward) over all of it: embedding → decoder layers → final norm → head, plus the MTP modules. The wiring is the
// layer-range forward (layer-range.ts), which pipeline stages and expert parallelism run over their own ranges.
import { addBlockParams } from './block.js';
import type { RuntimeModelConfig } from './config.js';
import type { Ctx } from './gemm.js';
import { forwardRange, mtpPrefix } from './layer-range.js';
import { Params } from './params.js';
import type { TokenObjective } from './loss.js';
import type { Rng } from './rng.js';
import type { Alloc, Vec } from './tensor.js';

export { mtpPrefix };

/** All parameters with DeepSeek's names, initialised: matrices ~ N(0, initializer_range²), norms 1, biases 0. */
export function buildParams(c: RuntimeModelConfig, alloc: Alloc, rng: Rng): Params {
  const P = new Params(alloc);
  const d = c.hidden_size;
  P.add('model.embed_tokens.weight', [c.vocab_size, d], false);
  for (let l = 0; l < c.num_hidden_layers; l++) addBlockParams(P, `model.layers.${l}`, c, l);
  P.add('model.norm.weight', [d], false);
  P.add('lm_head.weight', [c.vocab_size, d], true);
  for (let k = 0; k < c.num_nextn_predict_layers; k++) {
    const pre = mtpPrefix(c, k);
    P.add(`${pre}.enorm.weight`, [d], false);
    P.add(`${pre}.hnorm.weight`, [d], false);
    P.add(`${pre}.eh_proj.weight`, [d, 2 * d], true);
    addBlockParams(P, pre, c, c.num_hidden_layers + k);
    P.add(`${pre}.shared_head.norm.weight`, [d], false);
  }
  for (const p of P.list()) {
    if (p.shape.length === 1) p.data.fill(1);
    else for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal() * c.initializer_range;
  }
  return P;
}

export interface StepOptions {
  /** Sequence-wise balance loss weight α. */
  alpha: number;
  /** MTP loss weight λ. */
  mtpLambda: number;
  /** Run the backward pass (accumulating into the gradients). */
  backward: boolean;
  /** Segment ids of packed samples [B·W] (token-batch.ts). */
  segments?: Int32Array;
  /** A per-token objective in place of mean cross-entropy (loss.ts); mainLoss and mtpLoss are then its values. */
  objective?: TokenObjective;
}

export interface StepResult {
  /** Total objective: main + λ·mean(MTP) + balance. */
  loss: number;
  mainLoss: number;
  mtpLoss: number;
  balance: number;
  /** Routed tokens per expert for each MoE layer, by parameter prefix (main layers then MTP layers). */
  counts: Map<string, Int32Array>;
  /** Main-model logits [B·S, V] (for generation). */
  logits: Vec;
}

/** tokens: B windows of W = S+1+D tokens, row-major. The range [0, L) with both ends (layer-range.ts). */
export function step(ctx: Ctx, P: Params, c: RuntimeModelConfig, tokens: Int32Array, B: number, S: number, opt: StepOptions): StepResult {
  const W = S + 1 + c.num_nextn_predict_layers;
  if (tokens.length !== B * W) throw new Error(`model step: tokens has length ${tokens.length}, expected B·(S+1+D) = ${B}·${W}`);
  const f = forwardRange(ctx, P, c, tokens, B, S, { from: 0, to: c.num_hidden_layers, embed: true, head: true },
    { alpha: opt.alpha, mtpLambda: opt.mtpLambda, microBatches: 1, segments: opt.segments, objective: opt.objective });
  if (opt.backward) f.back();
  return { loss: f.loss, mainLoss: f.mainLoss, mtpLoss: f.mtpLoss, balance: f.balance, counts: f.counts, logits: f.logits! };
}

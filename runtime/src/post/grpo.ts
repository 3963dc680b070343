// One GRPO step's data (rollouts → rewards → advantages → training windows with π_old and π_ref per token) and the
// single-process step; the data-parallel step (../parallel/dp-grpo.ts) runs the same preparation on its share of the
// prompts. The optimizer step is the pre-training one (clipping, AdamW, router bias update); only the loss differs:
// the model's per-token loss hook gets grpo-loss.ts in place of cross-entropy. MTP is not trained in this mode (its
// weight is 0: the rollouts are the policy's own samples, not data to predict ahead).
//
// Data position: the prompts are visited by the trainer's batch source, a Sampler over the prompt indices (windows of
// one token: a seeded permutation per epoch whose position checkpoints save and restore). With rollout seeds derived
// from (seed, step, sample), a resumed run continues exactly as the uninterrupted one.
import type { GrpoProgress } from '../../../operator/contract/index.js';
import { Sampler } from '../data/sampler.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { targetLogProbs, type TokenObjective } from '../model/loss.js';
import type { Params } from '../model/params.js';
import { step as modelStep } from '../model/transformer.js';
import { learningRate } from '../train/adamw.js';
import { updateBiases } from '../train/balance.js';
import type { Trainer } from '../train/trainer.js';
import { groupAdvantages } from './advantages.js';
import { grpoLoss, type GrpoLoss, type GrpoTokens } from './grpo-loss.js';
import type { PromptRecord } from './prompts.js';
import type { Rewards } from './rewards.js';
import { generateRollouts } from './rollout.js';
import type { GrpoSettings } from './settings.js';

/** DeepSeek-V3's end-of-sentence token: generation stops after it when the vocabulary has it as one id. */
export const EOS_TEXT = '<｜end▁of▁sentence｜>';

export function stopTokenIds(tokenizer: Tokenizer): number[] {
  const ids = tokenizer.encode(EOS_TEXT);
  return ids.length === 1 ? [ids[0]] : [];
}

/**
 * The text the rewards score: the response without the stop token that ended it (as the OpenAI API returns a
 * completion), so "5<｜end▁of▁sentence｜>" matches the reference "5". The token itself is still trained on.
 */
export function responseText(tokenizer: Tokenizer, tokens: Int32Array, stop: readonly number[]): string {
  const n = tokens.length;
  return tokenizer.decode(n > 0 && stop.includes(tokens[n - 1]) ? tokens.subarray(0, n - 1) : tokens);
}

/** The trainer's batch source in this mode: windows of one token, the prompt indices 0..n−1, in a seeded order per epoch. */
export function promptSampler(n: number, seed: number): Sampler {
  return new Sampler(Int32Array.from({ length: n }, (_, i) => i), 1, 1, seed);
}

export interface GrpoData {
  file: string;
  records: PromptRecord[];
  ids: Int32Array[];
}

/** One rank's share of a step, ready for the policy forward. */
export interface LocalBatch {
  tokens: Int32Array;
  B: number;
  g: GrpoTokens;
  /** Sums for the step's metrics (added over ranks by the data-parallel step). */
  sums: StepSums;
  judgeError?: { url: string; error: string };
  messages: string[];
  isolation?: string;
}

/** Additive per-step quantities, in a fixed order so ranks can sum them as one vector. */
export const SUM_KEYS = ['samples', 'rewardSum', 'rewardSq', 'lengthSum', 'groups', 'groupsWithSignal', 'rewardErrors', 'judgeCalls', 'judgeFailures', 'klSum', 'tokens', 'clipped', 'loss'] as const;
export type StepSums = Record<typeof SUM_KEYS[number], number>;

/** A step's metrics: the progress report's fields (one definition, operator/contract/reports.ts) and the local ones. */
export interface GrpoMetrics extends GrpoProgress {
  step: number;
  /** The GRPO loss −J, mean over the step's sequences. */
  loss: number;
  clipFraction: number;
  judgeCalls: number;
  judgeFailures: number;
  gradNorm: number;
  lr: number;
  samples: number;
  /** Tokens trained on (prompt + response windows). */
  tokens: number;
  seconds: number;
}

export class Grpo {
  readonly seqLen: number;
  readonly stop: number[];

  private readonly prompts: Sampler;

  /** The trainer must draw from promptSampler(data.ids.length, seed). */
  constructor(readonly t: Trainer, readonly s: GrpoSettings, readonly data: GrpoData, readonly rewards: Rewards, readonly reference: Params) {
    this.seqLen = t.options.seqLen;
    this.stop = stopTokenIds(t.tokenizer);
    if (!(t.sampler instanceof Sampler) || t.sampler.W !== 1 || t.sampler.windows !== data.ids.length) {
      throw new Error('grpo: the trainer must be built over promptSampler(prompts, seed)');
    }
    this.prompts = t.sampler;
  }

  /** The step's prompts, all P of them (every rank draws the same list; advances the data position). */
  nextPrompts(): number[] {
    return Array.from(this.prompts.next(this.s.promptsPerStep));
  }

  /**
   * Rollouts, rewards, advantages and windows for `prompts` (this rank's share; firstSlot numbers its first sample in
   * the step). The loss averages over this batch's sequences; data-parallel ranks average their gradients, which
   * with equal shares is the mean over the step's sequences.
   */
  async prepare(prompts: number[], firstSlot: number): Promise<LocalBatch> {
    const t = this.t, s = this.s, S = this.seqLen, c = t.config, G = s.groupSize;
    const W = S + 1 + c.num_nextn_predict_layers;
    const ro = await generateRollouts(c, t.tokenizer, t.params, prompts.map((k) => this.data.ids[k]), {
      groupSize: G, temperature: s.temperature, topP: s.topP, maxNewTokens: s.maxNewTokens, stopTokenIds: this.stop,
      maxSequenceLength: S + 1, precision: t.options.precision, maxBatch: prompts.length * G,
    }, t.options.seed, t.step, firstSlot);
    const samples = ro.map((r) => {
      const rec = this.data.records[prompts[r.prompt]];
      return { question: rec.question, response: responseText(t.tokenizer, r.tokens, this.stop), reference: rec.reference, language: rec.language, codePrefix: rec.codePrefix };
    });
    const scored = await this.rewards.score(samples);
    const adv = groupAdvantages(scored.rewards, G);
    const B = ro.length;
    const tokens = new Int32Array(B * W);
    const seq = new Int32Array(B * S).fill(-1);
    const oldLogp = new Float64Array(B * S);
    const length = new Int32Array(B);
    ro.forEach((r, b) => {
      const p = this.data.ids[prompts[r.prompt]];
      tokens.set(p, b * W);
      tokens.set(r.tokens, b * W + p.length);
      length[b] = r.tokens.length;
      // Response token k sits at p.length + k and is predicted by the row before it.
      for (let k = 0; k < r.tokens.length; k++) {
        const row = b * S + p.length + k - 1;
        seq[row] = b;
        oldLogp[row] = r.logprobs[k];
      }
    });
    const targets = new Int32Array(B * S);
    for (let b = 0; b < B; b++) for (let i = 0; i < S; i++) targets[b * S + i] = tokens[b * W + i + 1];
    const ref = modelStep(t.ctx, this.reference, c, tokens, B, S, { alpha: 0, mtpLambda: 0, backward: false });
    const refLogp = targetLogProbs(ref.logits, targets, B * S, c.vocab_size).logp;
    let rewardSum = 0, rewardSq = 0, lengthSum = 0;
    scored.rewards.forEach((r, i) => {
      rewardSum += r;
      rewardSq += r * r;
      lengthSum += length[i];
    });
    return {
      tokens, B,
      g: { seq, oldLogp, refLogp, advantage: adv.advantages, length, sequences: B, clipEpsilon: s.clipEpsilon, klCoef: s.klCoef },
      sums: {
        samples: B, rewardSum, rewardSq, lengthSum, groups: adv.groups, groupsWithSignal: adv.groupsWithSignal, rewardErrors: scored.errors,
        judgeCalls: scored.judgeCalls, judgeFailures: scored.judgeFailures, klSum: 0, tokens: 0, clipped: 0, loss: 0,
      },
      ...(scored.judgeError ? { judgeError: scored.judgeError } : {}),
      messages: scored.messages,
      ...(scored.isolation ? { isolation: scored.isolation } : {}),
    };
  }

  /** Forward and backward of the policy on a prepared batch (gradients accumulate); the loss's sums go into b.sums. */
  policyForwardBackward(b: LocalBatch): Map<string, Int32Array> {
    const t = this.t;
    let ls: GrpoLoss | undefined;
    // No mtp(): the MTP modules do not run in this mode.
    const objective: TokenObjective = {
      main: (logp) => {
        ls = grpoLoss(logp, b.g);
        return { loss: ls.loss, dlogp: ls.dlogp };
      },
      slice: () => {
        throw new Error('grpo: a step trains each rank\'s own rollouts whole; it is never sliced');
      },
    };
    const r = modelStep(t.ctx, t.params, t.config, b.tokens, b.B, this.seqLen, { alpha: t.options.alpha, mtpLambda: 0, backward: true, objective });
    if (!ls) throw new Error('grpo: the model step did not call the per-token loss');
    if (!Number.isFinite(ls.loss)) throw new Error(`grpo loss is ${ls.loss} at step ${t.step}: lower the learning rate or klCoef`);
    b.sums.klSum = ls.klSum;
    b.sums.tokens = ls.tokens;
    b.sums.clipped = ls.clipped;
    b.sums.loss = ls.loss;
    return r.counts;
  }
}

/** The step's metrics from the sums over `ranks` ranks (each rank's loss is the mean over its own sequences). */
export function grpoMetrics(step: number, s: StepSums, ranks: number, o: { gradNorm: number; lr: number; seconds: number; trainedTokens: number; judgeError?: { url: string; error: string } }): GrpoMetrics {
  const n = Math.max(1, s.samples);
  const mean = s.rewardSum / n;
  return {
    step, loss: s.loss / ranks, rewardMean: mean, rewardStd: Math.sqrt(Math.max(0, s.rewardSq / n - mean * mean)),
    kl: s.tokens > 0 ? s.klSum / s.tokens : 0, responseLength: s.lengthSum / n,
    signalFraction: s.groups > 0 ? s.groupsWithSignal / s.groups : 0, rewardErrors: s.rewardErrors,
    clipFraction: s.tokens > 0 ? s.clipped / s.tokens : 0, judgeCalls: s.judgeCalls, judgeFailures: s.judgeFailures,
    ...(o.judgeError ? { judgeError: o.judgeError } : {}),
    gradNorm: o.gradNorm, lr: o.lr, samples: s.samples, tokens: o.trainedTokens, seconds: o.seconds,
  };
}

/** One single-process GRPO step: every prompt of the step here. */
export async function grpoStep(gr: Grpo): Promise<GrpoMetrics & { batch: LocalBatch }> {
  const t = gr.t;
  const t0 = performance.now();
  const prompts = gr.nextPrompts();
  const b = await gr.prepare(prompts, 0);
  t.params.zeroGrad();
  const counts = gr.policyForwardBackward(b);
  const gradNorm = t.opt.clipGrads();
  const lr = learningRate(t.options.optimizer, t.step);
  t.opt.update(t.step, lr);
  updateBiases(t.params, counts, t.options.gamma);
  t.step++;
  const m = grpoMetrics(t.step, b.sums, 1, { gradNorm, lr, seconds: (performance.now() - t0) / 1000, trainedTokens: b.B * gr.seqLen, judgeError: b.judgeError });
  return { ...m, batch: b };
}

// Rollouts (I/O-free but async): the serving engine (../serve/engine: KV-cached decode, continuous batching, the
// sampler with temperature and top-p) built over the trainer's current weights — weightsFromParams shares the
// arrays, so the engine sees exactly the weights the next optimizer step starts from — generates G responses per
// prompt. Each response keeps the log-probability of every sampled token (the engine's log-softmax at temperature 1,
// over the tokenizer's ids): log π_old of the GRPO ratio. Seeds are a function of (run seed, step, sample), so a
// resumed run draws the same responses as the uninterrupted one.
import type { Tokenizer } from '../data/tokenizer.js';
import type { RuntimeModelConfig } from '../model/config.js';
import type { Params } from '../model/params.js';
import type { Precision } from '../model/precision.js';
import { Engine } from '../serve/engine/engine.js';
import { weightsFromParams } from '../serve/engine/weights.js';

export interface RolloutSettings {
  groupSize: number;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** Ids that end a response (emitted, then stop); empty for a vocabulary without an end-of-sequence token. */
  stopTokenIds: number[];
  /** Longest prompt + response (the training sequence length + 1: a window's last token is only a target). */
  maxSequenceLength: number;
  precision: Precision;
  /** Sequences the engine decodes together. */
  maxBatch: number;
}

export interface Rollout {
  /** Index of the prompt in the step's list. */
  prompt: number;
  tokens: Int32Array;
  /** log π_old of each token of `tokens`. */
  logprobs: Float64Array;
  finish: 'stop' | 'length';
}

/** The seed of sample g of prompt slot p at step `step` (32-bit; distinct across the step's samples). */
export function rolloutSeed(seed: number, step: number, slot: number): number {
  let x = (seed ^ Math.imul(step + 1, 0x9e3779b1) ^ Math.imul(slot + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
  return (x ^ (x >>> 12)) & 0x7fffffff;
}

/** G responses for each prompt, in order [prompt 0: g 0..G−1, prompt 1: ...]; `firstSlot` numbers this rank's samples in the step. */
export async function generateRollouts(config: RuntimeModelConfig, tokenizer: Tokenizer, params: Params, prompts: Int32Array[],
  s: RolloutSettings, seed: number, step: number, firstSlot = 0): Promise<Rollout[]> {
  const engine = Engine.fromWeights(config, tokenizer, weightsFromParams(params), {
    maxBatch: s.maxBatch, maxQueue: prompts.length * s.groupSize + 1, maxSequenceLength: s.maxSequenceLength, precision: s.precision,
  });
  try {
    const jobs: Promise<Rollout>[] = [];
    prompts.forEach((ids, p) => {
      for (let g = 0; g < s.groupSize; g++) {
        const slot = firstSlot + p * s.groupSize + g;
        const toks: number[] = [];
        const lps: number[] = [];
        jobs.push(engine.generate({
          id: `rollout-${step}-${slot}`, promptIds: ids, logprobs: { topK: 0, prompt: false },
          params: { maxTokens: s.maxNewTokens, temperature: s.temperature, topP: s.topP, seed: rolloutSeed(seed, step, slot), stopTokenIds: s.stopTokenIds },
        }, (tok, lp) => {
          toks.push(tok);
          lps.push(lp!.logprob);
        }).then((r) => ({ prompt: p, tokens: Int32Array.from(toks), logprobs: Float64Array.from(lps), finish: r.finish })));
      }
    });
    return await Promise.all(jobs);
  } finally {
    await engine.close();
  }
}

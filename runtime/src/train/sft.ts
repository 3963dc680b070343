// Supervised fine-tuning (training.mode sft), shared by the single-process run (run.ts) and the distributed
// entrypoint (parallel/main.ts): the chat data as a batch source, the number of steps (epochs over the packed data,
// capped by training.steps) with the LR schedule over them, and the held-out assistant-token loss. I/O: reads the data.
import { readChat, encodeSample, type EncodedSample } from '../data/chat-data.js';
import { ChatBatches, heldOutBatches, type ChatLayout } from '../data/chat-batches.js';
import { byteTokenizer, withChatTokens, type Tokenizer } from '../data/tokenizer.js';
import type { StartSpec } from '../checkpoint/resume.js';
import type { RuntimeModelConfig } from '../model/config.js';
import type { Ctx } from '../model/gemm.js';
import type { Params } from '../model/params.js';
import { precisionCtx, type Precision } from '../model/precision.js';
import { Rng } from '../model/rng.js';
import { alloc32 } from '../model/tensor.js';
import { buildParams, step as modelStep } from '../model/transformer.js';
import { checkpointTokenizer } from '../post/start.js';
import type { TrainOptions } from './options.js';

export interface SftOptions {
  /** Passes over the chat data (training.sft.epochs, default 2). */
  epochs: number;
  /** Several conversations per window (training.sft.packing, default true). */
  packing: boolean;
  /** Held-out chat data (data.heldOutUri), as a path. */
  heldOutPath?: string;
}

export const SFT_DEFAULTS = { epochs: 2, packing: true } as const;

export function validateSft(s: SftOptions): SftOptions {
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw new Error(`training.sft.epochs (--epochs) must be an integer >= 1, got ${String(s.epochs)}`);
  if (typeof s.packing !== 'boolean') throw new Error(`training.sft.packing must be true or false, got ${String(s.packing)}`);
  return s;
}

export interface SftData {
  batches: ChatBatches;
  heldOut?: EncodedSample[];
  /** The options with steps = min(training.steps, ⌈windows over the epochs / batch⌉) and the LR schedule over them. */
  options: TrainOptions;
  /** Steps the epochs alone would take. */
  epochSteps: number;
}

/**
 * Reads and encodes the chat data (errors name file:line; a conversation longer than S+1 tokens is refused), and
 * sets the run's length: the epochs over the packed windows at `batch` windows a step (the global batch), capped by
 * opts.steps; the cosine decay of the learning rate ends at minLr on the last of those steps.
 */
export function sftData(opts: TrainOptions, sft: SftOptions, config: RuntimeModelConfig, tokenizer: Tokenizer, dataPath: string): SftData {
  validateSft(sft);
  const layout = chatLayout(opts, sft, config);
  const encode = (p: string): EncodedSample[] => readChat(p).map((s) => encodeSample(s, tokenizer));
  const batches = new ChatBatches(encode(dataPath), layout, opts.seed);
  const epochSteps = batches.stepsFor(sft.epochs, opts.batch);
  const steps = Math.min(opts.steps, epochSteps);
  const heldOut = sft.heldOutPath ? encode(sft.heldOutPath) : undefined;
  return { batches, ...(heldOut ? { heldOut } : {}), epochSteps, options: { ...opts, steps, optimizer: { ...opts.optimizer, totalSteps: steps } } };
}

export function chatLayout(opts: TrainOptions, sft: SftOptions, config: RuntimeModelConfig): ChatLayout {
  return { seqLen: opts.seqLen, mtpDepth: config.num_nextn_predict_layers, packing: sft.packing };
}

/** Mean main-head cross-entropy over every assistant token of the held-out set (no update). */
export function heldOutLoss(m: { ctx: Ctx; params: Params; config: RuntimeModelConfig }, samples: readonly EncodedSample[], layout: ChatLayout, batch: number): number {
  let sum = 0, count = 0;
  for (const b of heldOutBatches(samples, layout, batch)) {
    if (b.lossTokens === 0) continue;
    const r = modelStep(m.ctx, m.params, m.config, b.tokens, b.rows, layout.seqLen,
      { alpha: 0, mtpLambda: 0, backward: false, segments: b.segments, objective: b.objective });
    sum += r.mainLoss * b.lossTokens;
    count += b.lossTokens;
  }
  if (count === 0) throw new Error('held-out data: no assistant tokens to score');
  return sum / count;
}

/**
 * The distributed run's tokenizer: the resumed run's or the initial checkpoint's tokenizer.json when it has one
 * (single-process checkpoints carry it), else bytes; with the chat tokens when the vocabulary has room.
 */
export function sftTokenizer(spec: StartSpec, vocab: number): Tokenizer {
  const base = (spec.resume && checkpointTokenizer(spec.resume.path)) || (spec.init && checkpointTokenizer(spec.init.path)) || byteTokenizer;
  return withChatTokens(base, vocab);
}

/** heldOutLoss over a whole model given as weights by name (what rank 0 gathers for the export). */
export function heldOutLossOfWeights(config: RuntimeModelConfig, precision: Precision, weights: Map<string, Float32Array>,
  samples: readonly EncodedSample[], layout: ChatLayout, batch: number): number {
  const params = buildParams(config, alloc32, new Rng(0));
  for (const p of params.list()) {
    const w = weights.get(p.name);
    if (!w || w.length !== p.data.length) throw new Error(`held-out loss: weight ${p.name} is missing or has another size`);
    p.data.set(w);
  }
  for (const [name, b] of params.buffers) {
    const w = weights.get(name);
    if (w) b.set(w);
  }
  return heldOutLoss({ ctx: precisionCtx(precision), params, config }, samples, layout, batch);
}

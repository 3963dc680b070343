// Everything that defines a training run; saved as train.json in the run and in each checkpoint.
import { ADAMW_DEFAULTS, type AdamWConfig } from './adamw.js';
import type { Precision } from '../model/precision.js';
import type { RuntimeModelConfig } from '../model/config.js';
import type { SftOptions } from './sft.js';

export interface TrainOptions {
  preset: string;
  /** Fields that override the preset (e.g. vocab_size for the byte tokenizer). */
  overrides: Partial<RuntimeModelConfig>;
  precision: Precision;
  /** bytes (vocabulary 256) or a byte-level BPE trained on the corpus up to vocab_size and saved with the run. */
  tokenizer: 'bytes' | 'bpe';
  seed: number;
  /** Sequences per step. */
  batch: number;
  seqLen: number;
  steps: number;
  optimizer: AdamWConfig;
  /** Bias update speed γ (auxiliary-loss-free balancing). */
  gamma: number;
  /** Sequence-wise balance loss weight α. */
  alpha: number;
  /** MTP loss weight λ. */
  mtpLambda: number;
  checkpointEvery: number;
  keep: number;
  /** Supervised fine-tuning on chat data (training.mode sft, train/sft.ts); absent: pre-training on text. */
  sft?: SftOptions;
}

export function defaultTrainOptions(over: Partial<TrainOptions> = {}): TrainOptions {
  const steps = over.steps ?? 300;
  return {
    preset: 'deepseek-v3-tiny',
    overrides: { vocab_size: 256 },
    precision: 'fp8',
    tokenizer: 'bytes',
    seed: 1234,
    batch: 8,
    seqLen: 64,
    steps,
    optimizer: { ...ADAMW_DEFAULTS, lr: 3e-3, minLr: 3e-4, warmupSteps: Math.min(30, Math.ceil(steps / 10)), totalSteps: steps },
    gamma: 0.001,
    alpha: 0.0001,
    mtpLambda: 0.3,
    checkpointEvery: 50,
    keep: 3,
    ...over,
  };
}

/** Checks the numbers a person types; messages name the flag. */
export function validateTrainOptions(o: TrainOptions): TrainOptions {
  const posInt: [keyof TrainOptions, string][] = [['batch', '--batch'], ['seqLen', '--seq-len'], ['steps', '--steps']];
  for (const [k, flag] of posInt) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new Error(`${flag} must be a positive integer, got ${String(v)}`);
  }
  if (!Number.isInteger(o.checkpointEvery) || o.checkpointEvery < 0) throw new Error(`--checkpoint-every must be an integer >= 0 (0 disables), got ${o.checkpointEvery}`);
  if (!Number.isInteger(o.keep) || o.keep < 1) throw new Error(`--keep must be an integer >= 1, got ${o.keep}`);
  if (o.tokenizer !== 'bytes' && o.tokenizer !== 'bpe') throw new Error(`--tokenizer must be bytes or bpe, got ${String(o.tokenizer)}`);
  if (!(o.optimizer.lr > 0)) throw new Error(`--lr must be > 0, got ${o.optimizer.lr}`);
  for (const [k, v] of [['--gamma', o.gamma], ['--alpha', o.alpha], ['--mtp-lambda', o.mtpLambda]] as const) {
    if (!(v >= 0)) throw new Error(`${k} must be >= 0, got ${v}`);
  }
  return o;
}

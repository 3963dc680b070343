// Training options from the operator's plan document (MOE_PLAN; its type and parse are the pod contract's,
// operator/contract/plan-document.ts): {plan: {model: {preset?, ...config}}, training, precision, data, checkpoint:
// {dir, intervalSteps, keep}}. Pure; the CLI reads the file. Fields absent from the document keep the given defaults.
import type { PodPlanDocument } from '../../../operator/contract/index.js';
import type { TrainOptions } from './options.js';
import { SFT_DEFAULTS } from './sft.js';

export interface PlanSettings {
  options: TrainOptions;
  /** Undefined when the plan asks for synthetic data (the caller generates it). */
  dataPath?: string;
  runDir?: string;
  /** training.mode grpo: data.heldOutUri as a path (SFT's is options.sft.heldOutPath). */
  grpoHeldOutPath?: string;
}

function localPath(uri: string | undefined, field: string): string | undefined {
  if (uri === undefined) return undefined;
  if (uri.startsWith('file://')) return uri.slice('file://'.length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new Error(`MOE_PLAN ${field} ${uri}: only file:// URIs and paths are supported by this runtime`);
  return uri;
}

export function settingsFromPlan(doc: PodPlanDocument, base: TrainOptions): PlanSettings {
  const t = doc.training ?? {};
  const o = t.optimizer ?? {};
  const model = doc.plan?.model ?? {};
  const { preset, ...config } = model;
  if (doc.precision?.format === 'e5m2') throw new Error('MOE_PLAN precision.format e5m2: this runtime trains with e4m3 (the recipe) or bf16');
  const steps = t.steps ?? base.steps;
  const options: TrainOptions = {
    ...base,
    preset: preset ?? base.preset,
    // A preset plan carries the preset's full config: only the runtime's own overrides apply on top.
    overrides: preset ? base.overrides : { ...base.overrides, ...config },
    precision: doc.precision?.format === 'bf16' ? 'bf16' : doc.precision?.format === 'e4m3' ? 'fp8' : base.precision,
    seed: t.seed ?? base.seed,
    batch: t.microBatchSize ?? t.globalBatchSize ?? base.batch,
    seqLen: t.sequenceLength ?? base.seqLen,
    steps,
    optimizer: {
      ...base.optimizer,
      lr: o.learningRate ?? base.optimizer.lr,
      minLr: o.minLearningRate ?? base.optimizer.minLr,
      warmupSteps: o.warmupSteps ?? base.optimizer.warmupSteps,
      beta1: o.beta1 ?? base.optimizer.beta1,
      beta2: o.beta2 ?? base.optimizer.beta2,
      weightDecay: o.weightDecay ?? base.optimizer.weightDecay,
      clip: o.gradClip ?? base.optimizer.clip,
      totalSteps: steps,
    },
    gamma: t.balance?.biasUpdateSpeed ?? base.gamma,
    alpha: t.balance?.sequenceAuxAlpha ?? base.alpha,
    mtpLambda: t.mtpLambda ?? base.mtpLambda,
    checkpointEvery: doc.checkpoint?.intervalSteps ?? base.checkpointEvery,
    keep: doc.checkpoint?.keep ?? base.keep,
  };
  if (doc.data?.format === 'tokens') throw new Error('MOE_PLAN data.format tokens: this runtime reads text (jsonl or files); token files are not supported yet');
  const mode = t.mode ?? 'pretrain';
  if (mode === 'sft') {
    if (doc.data?.format !== 'chat') throw new Error(`MOE_PLAN training.mode sft needs data.format chat, got ${String(doc.data?.format)}`);
    const heldOutPath = localPath(doc.data.heldOutUri, 'data.heldOutUri');
    options.sft = { epochs: t.sft?.epochs ?? SFT_DEFAULTS.epochs, packing: t.sft?.packing ?? SFT_DEFAULTS.packing, ...(heldOutPath ? { heldOutPath } : {}) };
  } else if (mode === 'pretrain' && doc.data?.format === 'chat') {
    throw new Error('MOE_PLAN data.format chat is read by training.mode sft; pre-training reads jsonl text');
  }
  return {
    options,
    dataPath: doc.data?.format === 'synthetic' || doc.data?.format === undefined ? undefined : localPath(doc.data?.uri, 'data.uri'),
    runDir: localPath(doc.checkpoint?.dir, 'checkpoint.dir'),
    ...(mode === 'grpo' && doc.data?.heldOutUri ? { grpoHeldOutPath: localPath(doc.data.heldOutUri, 'data.heldOutUri') } : {}),
  };
}

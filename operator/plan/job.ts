// Reads the planning-relevant parts of a MoETrainingJob spec (already parsed from YAML/JSON) into typed values,
// applying the CRD's defaults, with errors that name the field and say what to write instead.
import { resolveModel } from './model-size.js';
import type { FieldError, ModelConfig, PackingRule, PackingSpec, ParallelismSpec, TrainingShape } from './types.js';

export interface JobInput {
  model: ModelConfig;
  preset?: string;
  parallelism: ParallelismSpec;
  training: TrainingShape & { globalBatchSize?: number };
  packing: PackingSpec;
  topologyRef: string;
}

const SCHEDULES = ['DualPipe', 'DualPipeV', '1F1B'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(o: Obj, key: string, field: string, def: number | undefined, errors: FieldError[], min = 1): number {
  const v = o[key] ?? def;
  if (v === undefined) {
    errors.push({ field, message: `is required: a whole number ≥ ${min}` });
    return NaN;
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    errors.push({ field, message: `must be a whole number ≥ ${min}, got ${JSON.stringify(v)}` });
    return NaN;
  }
  return v;
}

function obj(o: Obj, key: string, field: string, errors: FieldError[]): Obj {
  const v = o[key];
  if (v === undefined) return {};
  if (!isObj(v)) {
    errors.push({ field, message: `must be an object, got ${JSON.stringify(v)}` });
    return {};
  }
  return v;
}

/** Parses `spec` of a MoETrainingJob; `field` prefixes every error path. */
/** On failure, `partial` carries model and parallelism when those parsed, so callers can report their problems too. */
export type JobSpecResult =
  | { ok: true; job: JobInput }
  | { ok: false; errors: FieldError[]; partial?: { model: ModelConfig; parallelism: ParallelismSpec } };

export function readJobSpec(spec: unknown, field = 'spec'): JobSpecResult {
  if (!isObj(spec)) return { ok: false, errors: [{ field, message: 'must be an object with model and parallelism' }] };
  const errors: FieldError[] = [];
  if (spec.model === undefined) errors.push({ field: `${field}.model`, message: 'is required: {preset: deepseek-v3-671b} or {config: {...}}' });
  const model = resolveModel(spec.model, `${field}.model`);
  if (!model.ok && spec.model !== undefined) errors.push(...model.errors);

  if (spec.parallelism === undefined) errors.push({ field: `${field}.parallelism`, message: 'is required: {pipeline: {stages, schedule, microBatches}, expert, data, tensor}' });
  const par = obj(spec, 'parallelism', `${field}.parallelism`, errors);
  const pf = `${field}.parallelism`;
  const pipe = obj(par, 'pipeline', `${pf}.pipeline`, errors);
  const schedule = pipe.schedule ?? '1F1B';
  if (!SCHEDULES.includes(schedule as (typeof SCHEDULES)[number])) {
    errors.push({ field: `${pf}.pipeline.schedule`, message: `must be one of ${SCHEDULES.join(', ')}, got ${JSON.stringify(schedule)}` });
  }
  const parallelism: ParallelismSpec = {
    pipeline: {
      stages: int(pipe, 'stages', `${pf}.pipeline.stages`, 1, errors),
      schedule: schedule as ParallelismSpec['pipeline']['schedule'],
      microBatches: int(pipe, 'microBatches', `${pf}.pipeline.microBatches`, 1, errors),
    },
    expert: int(par, 'expert', `${pf}.expert`, 1, errors),
    data: int(par, 'data', `${pf}.data`, 1, errors),
    tensor: int(par, 'tensor', `${pf}.tensor`, 1, errors),
    gpusPerPod: int(par, 'gpusPerPod', `${pf}.gpusPerPod`, 8, errors),
  };

  const tr = obj(spec, 'training', `${field}.training`, errors);
  const tf = `${field}.training`;
  const sequenceLength = int(tr, 'sequenceLength', `${tf}.sequenceLength`, 4096, errors);
  const globalBatchSize = int(tr, 'globalBatchSize', `${tf}.globalBatchSize`, 64, errors);
  let microBatchSize = NaN;
  if (tr.microBatchSize !== undefined) microBatchSize = int(tr, 'microBatchSize', `${tf}.microBatchSize`, undefined, errors);
  else if (!errors.length) {
    // Every (data, expert) replica runs its own sequences (attention is data-parallel across EP ranks).
    const replicas = parallelism.data * parallelism.expert * parallelism.pipeline.microBatches;
    if (globalBatchSize % replicas !== 0) {
      errors.push({ field: `${tf}.globalBatchSize`, message: `(${globalBatchSize}) must be divisible by data × expert × microBatches (${replicas}) so every micro-batch has whole sequences; use ${Math.max(1, Math.round(globalBatchSize / replicas)) * replicas} or set training.microBatchSize` });
    } else microBatchSize = globalBatchSize / replicas;
  }

  const pk = obj(spec, 'packing', `${field}.packing`, errors);
  const strategy = pk.strategy ?? 'Pack';
  if (strategy !== 'Pack' && strategy !== 'Spread') errors.push({ field: `${field}.packing.strategy`, message: `must be Pack or Spread, got ${JSON.stringify(strategy)}` });
  const excl = pk.excludeNodes ?? [];
  if (!Array.isArray(excl) || excl.some((n) => typeof n !== 'string')) errors.push({ field: `${field}.packing.excludeNodes`, message: 'must be a list of node names' });
  const rules: PackingRule[] = [];
  const rawRules = pk.rules ?? [];
  if (!Array.isArray(rawRules)) errors.push({ field: `${field}.packing.rules`, message: 'must be a list of {level, group, mode}' });
  else {
    rawRules.forEach((r, i) => {
      const rf = `${field}.packing.rules[${i}]`;
      if (!isObj(r) || typeof r.level !== 'string') return errors.push({ field: `${rf}.level`, message: 'must name a topology level, e.g. leaf' });
      if (!['expert', 'pipelineNeighbours', 'pod'].includes(r.group as string)) return errors.push({ field: `${rf}.group`, message: `must be expert, pipelineNeighbours or pod, got ${JSON.stringify(r.group)}` });
      if (!['required', 'preferred'].includes((r.mode ?? 'preferred') as string)) return errors.push({ field: `${rf}.mode`, message: `must be required or preferred, got ${JSON.stringify(r.mode)}` });
      rules.push({ level: r.level, group: r.group as PackingRule['group'], mode: (r.mode ?? 'preferred') as PackingRule['mode'] });
    });
  }
  const ref = obj(spec, 'topologyRef', `${field}.topologyRef`, errors);
  if (errors.length || !model.ok) {
    const parsed = model.ok && !errors.some((e) => e.field.startsWith(`${field}.parallelism`) || e.field.startsWith(`${field}.model`));
    return parsed && model.ok ? { ok: false, errors, partial: { model: model.model, parallelism } } : { ok: false, errors };
  }
  return {
    ok: true,
    job: {
      model: model.model,
      ...(model.preset ? { preset: model.preset } : {}),
      parallelism,
      training: { sequenceLength, microBatchSize, globalBatchSize },
      packing: { strategy: strategy as PackingSpec['strategy'], excludeNodes: excl as string[], rules },
      topologyRef: typeof ref.name === 'string' ? ref.name : 'default',
    },
  };
}

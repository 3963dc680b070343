// The plan document (pure): data["plan.json"] of <job>-plan, mounted into every pod of a MoETrainingJob as MOE_PLAN.
// The operator writes it whole (controllers/mtj/desired.ts planDocument): the planner's plan plus the parts of the
// job's spec the pods need. A pod reads it with parsePlanDocument (runtime/src/cli.ts, runtime/src/parallel/main.ts),
// which also takes a hand-written document for local runs: there any section or field may be absent.
import type { IMoETrainingJobSpecData, IMoETrainingJobSpecPrecision, IMoETrainingJobSpecTraining } from '../api/types.gen.js';
import type { ScheduleName } from '../plan/schedule/ops.js';
import type { ModelConfig, RankTable, TrainingPlan } from '../plan/types.js';
import { at, fail, finite, int, integer, object, parseJson, string, type Fields } from './fields.js';

/** The document as the operator writes it. */
export interface PlanDocument {
  job: { namespace: string; name: string; attempt: number };
  plan: TrainingPlan;
  training: IMoETrainingJobSpecTraining;
  precision: IMoETrainingJobSpecPrecision;
  data: IMoETrainingJobSpecData;
  checkpoint: {
    /** This job's run folder (MOE_CHECKPOINT_DIR too). */
    dir: string;
    intervalSteps: number;
    keep: number;
    /** The operator's recorded checkpoint to resume from (MOE_RESUME_STEP / MOE_RESUME_URI), or null. */
    resumeStep: number | null;
    resumeUri: string | null;
    /** spec.checkpoint.resumeFrom: latest | none | <uri>. */
    resumeFrom: string;
    /** Weights-only source (MOE_INIT_URI), or null. */
    initUri: string | null;
  };
  /** The report ConfigMap rank 0 patches (configmaps.ts, reports.ts). */
  report: { configMap: string; namespace: string };
  /**
   * training.mode grpo with judge rewards: each judge InferenceDeployment (by name) resolved to its router Service's
   * OpenAI base URL and served model name (controllers/mtj/judges.ts); absent otherwise.
   */
  judges?: Record<string, JudgeEndpoint>;
}

/** An OpenAI-compatible endpoint: base URL ending in /v1, and the model name to send. */
export interface JudgeEndpoint {
  baseUrl: string;
  model: string;
}

/**
 * What a pod reads: the operator's document (a PlanDocument is one) or a hand-written one, with every section
 * optional. Of the plan, only what the runtime uses is typed; the rest passes through unchecked.
 */
export interface PodPlanDocument {
  job?: Partial<PlanDocument['job']>;
  plan?: {
    model?: Partial<ModelConfig> & { preset?: string };
    parallelism?: { pipeline: { stages: number; schedule: ScheduleName; microBatches: number }; expert: number; data: number };
    rankTable?: Pick<RankTable, 'pp' | 'ep' | 'dp' | 'tp'>;
  };
  training?: PlanDocument['training'];
  precision?: PlanDocument['precision'];
  data?: PlanDocument['data'];
  checkpoint?: Partial<PlanDocument['checkpoint']>;
  report?: Partial<PlanDocument['report']>;
  judges?: Record<string, JudgeEndpoint>;
}

export const formatPlanDocument = (doc: PlanDocument): string => JSON.stringify(doc);

type Check = (v: unknown, source: string, field: string) => unknown;
const count: Check = (v, s, f) => int(v, s, f, 1);
const nonNegative: Check = (v, s, f) => int(v, s, f);
const nullable = (c: Check): Check => (v, s, f) => (v === null ? null : c(v, s, f));
const ints: Check = (v, s, f) => (Array.isArray(v) ? v.forEach((x, i) => int(x, s, at(f, i))) : fail(s, f, 'an array of integers >= 0', v));

type Shape = { [key: string]: Check | Shape };

/** Checks each field of `v` that is present against `shape`; `field` is v's own name in the document. */
function check(v: unknown, source: string, field: string, shape: Shape): Fields {
  const o = object(v, source, field);
  for (const [k, c] of Object.entries(shape)) {
    if (o[k] === undefined) continue;
    if (typeof c === 'function') c(o[k], source, at(field, k));
    else check(o[k], source, at(field, k), c);
  }
  return o;
}

/** Fields that must be there when their object is (the runtime uses them together). */
function present(o: unknown, source: string, field: string, keys: string[]): void {
  if (o === undefined) return;
  for (const k of keys) if ((o as Fields)[k] === undefined) fail(source, at(field, k), 'present', undefined);
}

const CHECKS = {
  job: { namespace: string, name: string, attempt: nonNegative },
  plan: {
    model: { preset: string },
    parallelism: { pipeline: { stages: count, schedule: string, microBatches: count }, expert: count, data: count },
    rankTable: { pp: ints, ep: ints, dp: ints, tp: ints },
  },
  training: {
    steps: count, globalBatchSize: count, microBatchSize: count, sequenceLength: count, seed: integer, mtpLambda: finite,
    optimizer: { learningRate: finite, minLearningRate: finite, warmupSteps: nonNegative, beta1: finite, beta2: finite, weightDecay: finite, gradClip: finite },
    balance: { biasUpdateSpeed: finite, sequenceAuxAlpha: finite },
  },
  precision: { format: string },
  data: { format: string, uri: string },
  checkpoint: {
    dir: string, intervalSteps: nonNegative, keep: nonNegative, resumeStep: nullable(nonNegative), resumeUri: nullable(string),
    resumeFrom: string, initUri: nullable(string),
  },
  report: { configMap: string, namespace: string },
} satisfies Shape;

/** The document a pod was given; an error names `source` and the malformed field (e.g. `training.steps`). */
export function parsePlanDocument(text: string, source: string): PodPlanDocument {
  const doc = check(parseJson(text, source, 'the plan document {job, plan, training, precision, data, checkpoint, report}'), source, '', CHECKS) as PodPlanDocument;
  const par = doc.plan?.parallelism;
  present(par, source, 'plan.parallelism', ['pipeline', 'expert', 'data']);
  present(par?.pipeline, source, 'plan.parallelism.pipeline', ['stages', 'schedule', 'microBatches']);
  present(doc.plan?.rankTable, source, 'plan.rankTable', ['pp', 'ep', 'dp', 'tp']);
  if (doc.judges !== undefined) {
    for (const [name, j] of Object.entries(object(doc.judges, source, 'judges'))) {
      object(j, source, at('judges', name));
      string((j as Fields).baseUrl, source, at(at('judges', name), 'baseUrl'));
      string((j as Fields).model, source, at(at('judges', name), 'model'));
    }
  }
  return doc;
}

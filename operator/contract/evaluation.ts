// The contract of an evaluation pod (pure): what the operator tells it (the plan of one evaluation run, in the
// `<evaluation>-eval` ConfigMap, mounted at MOE_EVAL_PLAN) and what it reports back (the result, which it
// merge-patches into `<evaluation>-eval-report`). The runtime's `moe-runtime eval` reads the plan and writes the result;
// the operator's MoEEvaluation controller writes the plan and copies results into status.
import { at, fail, finite, int, object, optional, parseJson, string, type Fields } from './fields.js';

export const EVAL_TASK_TYPES = ['multiple_choice', 'generate', 'code'] as const;
export type EvalTaskType = typeof EVAL_TASK_TYPES[number];

/** One task: a JSONL file of samples (the formats are in runtime/src/eval/README.md) and how to score it. */
export interface EvalTask {
  name: string;
  type: EvalTaskType;
  /** The JSONL file as the pod sees it (a mounted ConfigMap key or a volume path). */
  file: string;
  /** Use the first `limit` samples only. */
  limit?: number;
  /** generate and code: tokens per answer. */
  maxTokens?: number;
  /** generate: regex whose first group is the answer; default: \boxed{...}, else the last number in the text. */
  answerPattern?: string;
  /** code: samples per problem (n of pass@k) and the k values reported. */
  samples?: number;
  k?: number[];
  /** code: limits of one candidate run in the sandbox. */
  timeoutSeconds?: number;
  memoryMiB?: number;
}

/** What is evaluated: a served model through its OpenAI API, or a model folder (export or run) loaded in the pod. */
export type EvalTarget =
  | { kind: 'api'; baseUrl: string; model: string }
  | { kind: 'model'; path: string };

export interface EvalPlan {
  target: EvalTarget;
  tasks: EvalTask[];
  /** The training checkpoint this run evaluates, when the target is one (for status and plots over checkpoints). */
  checkpoint?: { step: number; uri: string };
  /** Per request, and how often a failed request is retried before the model counts as unreachable. */
  requestTimeoutSeconds: number;
  retries: number;
}

/** The score of one task: the mean over samples with its standard error (sample standard deviation / sqrt(n)). */
export interface TaskScore {
  name: string;
  type: EvalTaskType;
  /** accuracy (multiple_choice), exact_match (generate), pass@<k> (code: one entry per k). */
  metric: string;
  score: number;
  stderr: number;
  n: number;
  /** code: what isolated the candidate programs (runtime/src/sandbox/README.md), e.g. "network=netns limits=prlimit". */
  isolation?: string;
}

/**
 * `moe-runtime eval`'s exit codes (runtime/src/eval/README.md). The pod also patches its result with `error` before it
 * exits non-zero, so the controller can name the failure in a condition without reading logs.
 */
export const EvalExitCode = { ok: 0, failed: 1, badTasks: 2, modelUnreachable: 3 } as const;
export const EVAL_FAILURE_REASONS = ['Failed', 'BadTasks', 'ModelUnreachable'] as const;
export type EvalFailureReason = typeof EVAL_FAILURE_REASONS[number];

export interface EvalResult {
  checkpoint?: { step: number; uri: string };
  scores: TaskScore[];
  startedAt: string;
  finishedAt: string;
  /** Set when the run failed: scores then hold the tasks finished before the failure. */
  error?: { reason: EvalFailureReason; message: string };
}

/** `<evaluation>-eval` holds data["plan.json"]; `<evaluation>-eval-report` gets data.result from the pod. */
export const EvalConfigMaps = {
  plan: { name: (evaluation: string) => `${evaluation}-eval`, key: 'plan.json', mountPath: '/etc/moe/eval' },
  report: { name: (evaluation: string) => `${evaluation}-eval-report`, key: 'result' },
} as const;

export const EvalEnv = {
  /** Path of plan.json in the pod. */
  plan: 'MOE_EVAL_PLAN',
  /** Name of the report ConfigMap (in MOE_NAMESPACE). */
  reportConfigMap: 'MOE_EVAL_REPORT_CONFIGMAP',
} as const;

const positive = (v: unknown, source: string, field: string): number => int(v, source, field, 1);

function task(v: unknown, source: string, field: string): EvalTask {
  const o = object(v, source, field);
  const type = o.type as EvalTaskType;
  if (!EVAL_TASK_TYPES.includes(type)) fail(source, at(field, 'type'), `one of ${EVAL_TASK_TYPES.join(', ')}`, o.type);
  const t: EvalTask = { name: string(o.name, source, at(field, 'name'), true), type, file: string(o.file, source, at(field, 'file'), true) };
  const opt = <T>(k: keyof EvalTask, check: (x: unknown, f: string) => T): void => {
    const x = optional(o, k, (y) => check(y, at(field, k)));
    if (x !== undefined) (t as unknown as Fields)[k] = x;
  };
  opt('limit', (x, f) => positive(x, source, f));
  opt('maxTokens', (x, f) => positive(x, source, f));
  opt('answerPattern', (x, f) => {
    const s = string(x, source, f, true);
    try {
      new RegExp(s, 'u');
    } catch (e) {
      fail(source, f, `a regular expression (${(e as Error).message})`, s);
    }
    return s;
  });
  opt('samples', (x, f) => positive(x, source, f));
  opt('k', (x, f) => {
    if (!Array.isArray(x) || !x.length) fail(source, f, 'a non-empty array of integers >= 1', x);
    return x.map((y, i) => positive(y, source, at(f, i)));
  });
  opt('timeoutSeconds', (x, f) => positive(x, source, f));
  opt('memoryMiB', (x, f) => positive(x, source, f));
  if (t.k && t.k.some((k) => k > (t.samples ?? 1))) fail(source, at(field, 'k'), `at most samples (${t.samples ?? 1})`, t.k);
  return t;
}

function checkpointOf(v: unknown, source: string, field: string): { step: number; uri: string } {
  const o = object(v, source, field);
  return { step: int(o.step, source, at(field, 'step')), uri: string(o.uri, source, at(field, 'uri'), true) };
}

export const formatEvalPlan = (p: EvalPlan): string => JSON.stringify(p);

export function parseEvalPlan(text: string, source: string = EvalConfigMaps.plan.key): EvalPlan {
  const o = object(parseJson(text, source, '{target, tasks, requestTimeoutSeconds, retries}'), source, '');
  const t = object(o.target, source, 'target');
  let target: EvalTarget;
  if (t.kind === 'api') target = { kind: 'api', baseUrl: string(t.baseUrl, source, 'target.baseUrl', true), model: string(t.model, source, 'target.model', true) };
  else if (t.kind === 'model') target = { kind: 'model', path: string(t.path, source, 'target.path', true) };
  else fail(source, 'target.kind', '"api" or "model"', t.kind);
  if (!Array.isArray(o.tasks) || !o.tasks.length) fail(source, 'tasks', 'a non-empty array', o.tasks);
  const tasks = o.tasks.map((x, i) => task(x, source, at('tasks', i)));
  const names = new Set<string>();
  tasks.forEach((x, i) => {
    if (names.has(x.name)) fail(source, at(at('tasks', i), 'name'), 'unique', x.name);
    names.add(x.name);
  });
  const plan: EvalPlan = {
    target: target!, tasks,
    requestTimeoutSeconds: positive(o.requestTimeoutSeconds, source, 'requestTimeoutSeconds'),
    retries: int(o.retries, source, 'retries'),
  };
  const ck = optional(o, 'checkpoint', (x) => checkpointOf(x, source, 'checkpoint'));
  if (ck) plan.checkpoint = ck;
  return plan;
}

export const formatEvalResult = (r: EvalResult): string => JSON.stringify(r);

export function parseEvalResult(text: string, source: string = EvalConfigMaps.report.key): EvalResult {
  const o = object(parseJson(text, source, '{scores, startedAt, finishedAt}'), source, '');
  if (!Array.isArray(o.scores)) fail(source, 'scores', 'an array', o.scores);
  const scores = o.scores.map((v, i): TaskScore => {
    const f = at('scores', i);
    const s = object(v, source, f);
    if (!EVAL_TASK_TYPES.includes(s.type as EvalTaskType)) fail(source, at(f, 'type'), `one of ${EVAL_TASK_TYPES.join(', ')}`, s.type);
    const score = finite(s.score, source, at(f, 'score'));
    const stderr = finite(s.stderr, source, at(f, 'stderr'));
    if (stderr < 0) fail(source, at(f, 'stderr'), 'a number >= 0', stderr);
    return {
      name: string(s.name, source, at(f, 'name'), true), type: s.type as EvalTaskType, metric: string(s.metric, source, at(f, 'metric'), true),
      score, stderr, n: int(s.n, source, at(f, 'n')),
      ...(s.isolation === undefined ? {} : { isolation: string(s.isolation, source, at(f, 'isolation'), true) }),
    };
  });
  const r: EvalResult = { scores, startedAt: string(o.startedAt, source, 'startedAt', true), finishedAt: string(o.finishedAt, source, 'finishedAt', true) };
  const ck = optional(o, 'checkpoint', (x) => checkpointOf(x, source, 'checkpoint'));
  if (ck) r.checkpoint = ck;
  const err = optional(o, 'error', (x) => {
    const e = object(x, source, 'error');
    if (!EVAL_FAILURE_REASONS.includes(e.reason as EvalFailureReason)) fail(source, 'error.reason', `one of ${EVAL_FAILURE_REASONS.join(', ')}`, e.reason);
    return { reason: e.reason as EvalFailureReason, message: string(e.message, source, 'error.message', true) };
  });
  if (err) r.error = err;
  return r;
}

/** The operator's lenient read of a report ConfigMap's result: undefined when absent or malformed (pods are not trusted). */
export function readEvalResult(data: Record<string, string> | undefined): EvalResult | undefined {
  const text = data?.[EvalConfigMaps.report.key];
  if (text === undefined) return undefined;
  try {
    return parseEvalResult(text);
  } catch {
    return undefined;
  }
}

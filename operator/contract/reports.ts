// The reports pods send to the operator (pure): training rank 0's progress and checkpoints (keys progress and
// checkpoint of <job>-report) and a serving role leader's expert load (the key of its own pod in
// <deployment>-expert-load). format* writes a report as the pod sends it; parse* reads one and names the malformed
// field; read* is the operator's view of a whole ConfigMap and never throws: pods are not trusted to be well-formed,
// so a malformed report (or, for progress, a malformed field) is left out.
import { ReportConfigMap } from './configmaps.js';
import { fail, finite, int, integer, isObject, matrix, object, parseJson, string, type Fields } from './fields.js';

/** Rank 0 after every step. `tokens` counts every step since the job began, across restarts. */
export interface ProgressReport {
  step: number;
  tokens: number;
  loss: number;
  tokensPerSecond: number;
  /** training.mode grpo: the step's rollouts (runtime/src/post). */
  grpo?: GrpoProgress;
  /** training.mode sft: mean cross-entropy over data.heldOutUri's assistant tokens, last measured (start and end). */
  heldOutLoss?: number;
}

/** A GRPO step: reward mean and spread, KL to the reference, response length, groups with signal, failed rewards. */
export interface GrpoProgress {
  rewardMean: number;
  rewardStd: number;
  kl: number;
  responseLength: number;
  /** Fraction of groups whose rewards are not all equal. */
  signalFraction: number;
  /** Reward evaluations that threw or timed out (each scored 0). */
  rewardErrors: number;
  /** When judge calls failed: how many of how many, and the judge's URL with the last error. */
  judgeFailures?: number;
  judgeCalls?: number;
  judgeError?: { url: string; error: string };
}

export const GRPO_PROGRESS_FIELDS = ['rewardMean', 'rewardStd', 'kl', 'responseLength', 'signalFraction', 'rewardErrors', 'judgeFailures', 'judgeCalls'] as const;

/** Rank 0 once a checkpoint is committed: its step and where it is, as the pod sees it (file://...). */
export interface CheckpointReport {
  step: number;
  uri: string;
}

/** A role leader every few seconds: routed tokens per expert since its process started (cumulative). */
export interface LoadReport {
  role: string;
  replica: number;
  /** The process's start time: a new value means the counts began again from zero. */
  startedAt: string;
  /** [moe layer][logical expert] routed tokens since startedAt. */
  counts: number[][];
  /** Decode leaders that draft (speculative decoding): cumulative counts since startedAt. */
  speculative?: SpeculativeCounts;
}

/** Draft tokens proposed and accepted, and sequence-steps that verified drafts (each emits accepted + 1 tokens). */
export interface SpeculativeCounts {
  drafted: number;
  accepted: number;
  steps: number;
}

/** A load report with the pod that sent it (the key it patched). */
export interface PodLoadReport extends LoadReport {
  pod: string;
}

/** The fields of a progress report, in the order rank 0 writes them. */
export const PROGRESS_FIELDS = ['step', 'tokens', 'loss', 'tokensPerSecond'] as const;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export const formatProgress = (p: ProgressReport): string => JSON.stringify(p);
export const formatCheckpoint = (c: CheckpointReport): string => JSON.stringify(c);
export const formatLoadReport = (r: LoadReport): string => JSON.stringify(r);

export function parseProgress(text: string, source: string = ReportConfigMap.keys.progress): ProgressReport {
  const o = object(parseJson(text, source, '{step, tokens, loss, tokensPerSecond}'), source, '');
  const [step, tokens, loss, tokensPerSecond] = PROGRESS_FIELDS.map((k) => finite(o[k], source, k)) as [number, number, number, number];
  const heldOut = o.heldOutLoss === undefined ? {} : { heldOutLoss: finite(o.heldOutLoss, source, 'heldOutLoss') };
  if (o.grpo === undefined) return { step, tokens, loss, tokensPerSecond, ...heldOut };
  const g = object(o.grpo, source, 'grpo');
  const grpo: Partial<GrpoProgress> = {};
  for (const k of GRPO_PROGRESS_FIELDS) {
    if (g[k] !== undefined) grpo[k] = finite(g[k], source, `grpo.${k}`);
    else if (k !== 'judgeFailures' && k !== 'judgeCalls') fail(source, `grpo.${k}`, 'a finite number', undefined);
  }
  if (g.judgeError !== undefined) {
    const e = object(g.judgeError, source, 'grpo.judgeError');
    grpo.judgeError = { url: string(e.url, source, 'grpo.judgeError.url'), error: string(e.error, source, 'grpo.judgeError.error') };
  }
  return { step, tokens, loss, tokensPerSecond, ...heldOut, grpo: grpo as GrpoProgress };
}

export function parseCheckpoint(text: string, source: string = ReportConfigMap.keys.checkpoint): CheckpointReport {
  const o = object(parseJson(text, source, '{step, uri}'), source, '');
  return { step: int(o.step, source, 'step'), uri: string(o.uri, source, 'uri', true) };
}

/** Counts are finite numbers >= 0 in a non-empty table whose rows all have the same non-zero length. */
function loadCounts(v: unknown, source: string, field: string): number[][] {
  const count = (x: unknown, f: string) => (isFiniteNumber(x) && x >= 0 ? x : fail(source, f, 'a finite number >= 0', x));
  return matrix(v, source, field, count, { nonEmpty: true, rectangular: true });
}

/** Whether `v` is a table of loads as load reports carry them (the operator keeps its smoothed loads the same way). */
export function isLoadTable(v: unknown): v is number[][] {
  try {
    loadCounts(v, '', '');
    return true;
  } catch {
    return false;
  }
}

export function parseLoadReport(text: string, source: string): LoadReport {
  const o = object(parseJson(text, source, '{role, replica, startedAt, counts, speculative?}'), source, '');
  const r: LoadReport = {
    role: string(o.role, source, 'role'),
    replica: integer(o.replica, source, 'replica'),
    startedAt: string(o.startedAt, source, 'startedAt'),
    counts: loadCounts(o.counts, source, 'counts'),
  };
  if (o.speculative !== undefined) {
    const s = object(o.speculative, source, 'speculative');
    const [drafted, accepted, steps] = (['drafted', 'accepted', 'steps'] as const).map((k) => int(s[k], source, `speculative.${k}`));
    if (accepted > drafted) fail(source, 'speculative.accepted', `at most speculative.drafted (${drafted})`, accepted);
    r.speculative = { drafted, accepted, steps };
  }
  return r;
}

export interface JobReport {
  progress?: Partial<ProgressReport>;
  checkpoint?: CheckpointReport;
}

/** The operator's view of `<job>-report`: each progress field that is a number, and a checkpoint that is whole. */
export function readJobReport(data: Record<string, string> | undefined): JobReport {
  const out: JobReport = {};
  const progress = data?.[ReportConfigMap.keys.progress];
  const p: unknown = progress ? tryParse(() => parseJson(progress, '', '')) : undefined;
  if (isObject(p)) out.progress = pickProgress(p);
  const checkpoint = data?.[ReportConfigMap.keys.checkpoint];
  const c = checkpoint ? tryParse(() => parseCheckpoint(checkpoint)) : undefined;
  if (c) out.checkpoint = c;
  return out;
}

function pickProgress(o: Fields): Partial<ProgressReport> {
  const r: Partial<ProgressReport> = {};
  for (const k of PROGRESS_FIELDS) if (isFiniteNumber(o[k])) r[k] = o[k];
  if (isFiniteNumber(o.heldOutLoss)) r.heldOutLoss = o.heldOutLoss;
  if (isObject(o.grpo)) {
    const g = o.grpo;
    const grpo: Partial<GrpoProgress> = {};
    for (const k of GRPO_PROGRESS_FIELDS) if (isFiniteNumber(g[k])) grpo[k] = g[k];
    const e = g.judgeError;
    if (isObject(e) && typeof e.url === 'string' && typeof e.error === 'string') grpo.judgeError = { url: e.url.slice(0, 500), error: e.error.slice(0, 1000) };
    r.grpo = grpo as GrpoProgress;
  }
  return r;
}

/** The operator's view of `<deployment>-expert-load`: the well-formed reports, sorted by pod. */
export function readLoadReports(data: Record<string, string> | undefined): PodLoadReport[] {
  const out: PodLoadReport[] = [];
  for (const [pod, text] of Object.entries(data ?? {})) {
    const r = tryParse(() => parseLoadReport(text, pod));
    if (r) out.push({ pod, ...r });
  }
  return out.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

function tryParse<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

// Where a run starts (pure): what the operator asked for in the environment, and the one step every rank agrees on.
//
// Environment (set by operator/controllers/mtj/desired.ts, named in operator/contract/pod-env.ts TrainEnv; local runs
// may set them by hand):
//   MOE_CHECKPOINT_DIR  this job's run folder (file:// URI or path); checkpoints go to <it>/checkpoints/step-N
//   MOE_RESUME_FROM     latest (default) | none | <uri>: the job's spec.checkpoint.resumeFrom
//   MOE_RESUME_URI      a checkpoint the operator recorded (a step folder); with MOE_RESUME_STEP, its step
//   MOE_INIT_URI        weights only (fresh optimizer, step 0, data from the start): spec.checkpoint.initFrom
// Resuming restores everything (weights, optimizer moments, router biases, step, data position); initialising
// takes the weights and router biases only. A resume found wins over an init: a restarted fine-tuning job continues
// from its own checkpoint, not from the pre-trained one.
//
// Agreement: ranks may see different damage (one rank's shard of the newest step is corrupt), so no rank loads
// before all agree. In rounds, every rank reports the newest step at or below the current ceiling that it can verify
// (or that it must abort); the new ceiling is the lowest report; when every report equals it, that step is the
// resume step. The ceiling only falls, so this ends within as many rounds as there are steps.
import { TrainEnv } from '../../../operator/contract/index.js';

export interface StartSpec {
  /** Where to look for a checkpoint to resume, or undefined to start fresh. */
  resume?: { path: string; step?: number; origin: string };
  /** Weights-only source, used when nothing is resumed. */
  init?: { path: string; origin: string };
}

/** file:///a/b → /a/b; a plain path as it is; other schemes are refused naming the variable. */
export function uriPath(uri: string, name: string): string {
  if (uri.startsWith('file://')) return uri.slice('file://'.length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new Error(`${name}=${uri}: only file:// URIs and paths are supported by this runtime`);
  return uri;
}

function stepOf(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[TrainEnv.resumeStep];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw new Error(`${TrainEnv.resumeStep} must be a non-negative integer, got '${raw}'`);
  return Number(raw);
}

/** What to resume from and what to initialise from; `runDir` is this job's own run folder. */
export function startSpec(env: NodeJS.ProcessEnv, runDir: string): StartSpec {
  const out: StartSpec = {};
  const step = stepOf(env);
  const from = env[TrainEnv.resumeFrom] || 'latest';
  const uri = env[TrainEnv.resumeUri];
  if (uri) {
    out.resume = { path: uriPath(uri, TrainEnv.resumeUri), origin: `${TrainEnv.resumeUri}=${uri}`, ...(step !== undefined ? { step } : {}) };
  } else if (from === 'latest') {
    out.resume = { path: runDir, origin: 'this job\'s run folder', ...(step !== undefined ? { step } : {}) };
  } else if (from !== 'none') {
    out.resume = { path: uriPath(from, TrainEnv.resumeFrom), origin: `${TrainEnv.resumeFrom}=${from}`, ...(step !== undefined ? { step } : {}) };
  }
  const init = env[TrainEnv.initUri];
  if (init) out.init = { path: uriPath(init, TrainEnv.initUri), origin: `${TrainEnv.initUri}=${init}` };
  return out;
}

/** One rank's answer in a round: the newest step ≤ the ceiling it verifies (null: none), or why it must abort. */
export interface RankReport {
  rank: number;
  step: number | null;
  abort?: string;
  /** Why newer steps were unusable for this rank (for the log). */
  skipped: string[];
}

export type RoundResult =
  | { kind: 'agreed'; step: number }
  | { kind: 'again'; ceiling: number }
  | { kind: 'none' }
  | { kind: 'abort'; reason: string };

/** The outcome of one round of reports (every rank's, any order). */
export function agreeRound(reports: RankReport[]): RoundResult {
  const aborts = reports.filter((r) => r.abort !== undefined).sort((a, b) => a.rank - b.rank);
  if (aborts.length) return { kind: 'abort', reason: aborts.map((r) => `rank ${r.rank}: ${r.abort}`).join('; ') };
  if (reports.some((r) => r.step === null)) return { kind: 'none' };
  const low = Math.min(...reports.map((r) => r.step!));
  return reports.every((r) => r.step === low) ? { kind: 'agreed', step: low } : { kind: 'again', ceiling: low };
}

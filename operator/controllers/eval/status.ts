// Pure status of a MoEEvaluation: what a run's pod and its report add up to (runOutcome), and the status builder
// (phase, conditions, results, the printer columns' latest score). Events are collected and emitted by the reconciler
// after the status write.
import type { V1Pod } from '@kubernetes/client-node';
import { EvalConditionType as C, EvalPhase, EvalReason as R } from '../../api/constants.js';
import type { IMoEEvaluationStatus, IMoEEvaluationStatusResultsItem } from '../../api/types.gen.js';
import { EvalExitCode, type EvalResult } from '../../contract/index.js';
import { StatusBuilderBase } from '../status-builder.js';
import type { Checkpoint } from './desired.js';

export const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
/** How long a finished pod's result may lag behind its status in the cache before the run counts as failed. */
export const RESULT_GRACE_MS = 30_000;
/** Results kept in status (the CRD's maxItems). */
export const MAX_RESULTS = 100;

export type RunOutcome =
  | { state: 'active' }
  | { state: 'succeeded'; result: EvalResult }
  | { state: 'waitingForResult'; waitMs: number }
  | { state: 'failed'; reason: string; message: string };

const byExitCode: Record<number, string> = { [EvalExitCode.badTasks]: R.BadTasks, [EvalExitCode.modelUnreachable]: R.ModelUnreachable };

/**
 * What a run's pod and the report say. A result counts only if it is this run's (same checkpoint when the run has
 * one: the report ConfigMap is cleared before each run, this guards against a late patch). A failed pod's reason comes
 * from the result's `error`, else its exit code (EvalExitCode), and its message from the error, else the container's
 * termination message (the runtime's last line), else the exit code.
 */
export function runOutcome(pod: V1Pod, result: EvalResult | undefined, checkpoint: Checkpoint | undefined, now: Date): RunOutcome {
  const mine = result && (!checkpoint || !result.checkpoint || result.checkpoint.step === checkpoint.step) ? result : undefined;
  const term = (pod.status?.containerStatuses ?? [])[0]?.state?.terminated;
  if (pod.status?.phase === 'Succeeded') {
    if (mine && !mine.error) return { state: 'succeeded', result: mine };
    if (mine?.error) return { state: 'failed', reason: mine.error.reason === 'Failed' ? R.Failed : mine.error.reason, message: mine.error.message };
    const ended = term?.finishedAt ? new Date(term.finishedAt).getTime() : undefined;
    const waited = ended === undefined ? 0 : now.getTime() - ended;
    if (waited < RESULT_GRACE_MS) return { state: 'waitingForResult', waitMs: Math.max(1000, Math.min(5000, RESULT_GRACE_MS - waited)) };
    return { state: 'failed', reason: R.ResultMissing, message: `pod ${pod.metadata?.name} exited 0 but wrote no result to its report ConfigMap (key result); see kubectl logs ${pod.metadata?.name}` };
  }
  if (pod.status?.phase !== 'Failed') return { state: 'active' };
  const code = term?.exitCode;
  const reason = mine?.error ? (mine.error.reason === 'Failed' ? R.Failed : mine.error.reason) : (code !== undefined ? byExitCode[code] : undefined) ?? R.Failed;
  const said = mine?.error?.message ?? term?.message?.trim();
  const how = code !== undefined ? `exit code ${code}` : (pod.status?.reason ?? 'failed');
  return { state: 'failed', reason, message: `pod ${pod.metadata?.name} (${how}): ${said || pod.status?.message || 'no message; see kubectl logs'}`.slice(0, 4000) };
}

export class EvalStatusBuilder extends StatusBuilderBase<IMoEEvaluationStatus> {
  private cond(type: string): { status?: string; reason?: string } | undefined {
    return (this.status.conditions ?? []).find((c) => c.type === type);
  }

  targetReady(message: string): void {
    this.condition(C.TargetReady, true, R.TargetFound, message);
  }

  /** The target is not there yet: Pending, with the reason in TargetReady (an event when it changes). */
  targetWaiting(reason: string, message: string): void {
    const was = this.cond(C.TargetReady);
    this.condition(C.TargetReady, false, reason, message);
    if (was?.status !== 'False' || was.reason !== reason) this.event(reason === R.WaitingForDeployment ? 'Normal' : 'Warning', reason, message);
    if (!this.status.run) this.status.phase = EvalPhase.Pending;
  }

  suspended(on: boolean): void {
    const was = this.cond(C.Suspended)?.status === 'True';
    if (on) {
      this.condition(C.Suspended, true, R.SuspendedBySpec, 'spec.suspend is true: no evaluation pod runs');
      if (!was) this.event('Normal', R.SuspendedBySpec, 'suspended: the evaluation pod is deleted');
      if (this.status.phase !== EvalPhase.Succeeded && this.status.phase !== EvalPhase.Failed) this.status.phase = EvalPhase.Pending;
    } else if (was) {
      this.condition(C.Suspended, false, R.Resumed, 'spec.suspend is false');
      this.event('Normal', R.Resumed, 'resumed');
    }
  }

  started(pod: string, checkpoint: Checkpoint | undefined, now: Date, target: string): void {
    this.status.run = { pod, startedAt: iso(now), ...(checkpoint ? { checkpoint } : {}) };
    this.status.phase = EvalPhase.Running;
    this.condition(C.Complete, false, R.Evaluating, `pod ${pod} evaluates ${target}`);
    this.event('Normal', R.RunStarted, `pod ${pod} evaluates ${checkpoint ? `checkpoint step ${checkpoint.step} (${checkpoint.uri})` : target}`);
  }

  active(): void {
    this.status.phase = EvalPhase.Running;
  }

  /** Queued training checkpoints (events only; the queue is status.training). */
  queued(cs: readonly Checkpoint[]): void {
    for (const c of cs) this.event('Normal', R.CheckpointQueued, `checkpoint step ${c.step} (${c.uri}) queued for evaluation`);
  }

  /** A run's scores join the history; the model was reachable. */
  recorded(result: EvalResult, checkpoint: Checkpoint | undefined, target: string, hash: string): void {
    const item: IMoEEvaluationStatusResultsItem = {
      ...(checkpoint ?? result.checkpoint ? { checkpoint: checkpoint ?? result.checkpoint } : {}),
      target,
      specHash: hash,
      finishedAt: result.finishedAt,
      scores: result.scores.map((s) => ({ name: s.name, type: s.type, metric: s.metric, score: s.score, stderr: s.stderr, n: s.n })),
    };
    this.status.results = [...(this.status.results ?? []), item].slice(-MAX_RESULTS);
    this.status.evaluated = this.status.results.length;
    const first = item.scores?.[0];
    this.status.latest = first ? { task: first.name!, metric: first.metric!, score: first.score!, ...(item.checkpoint?.step !== undefined ? { step: item.checkpoint.step } : {}) } : {};
    delete this.status.run;
    this.condition(C.ModelReachable, true, R.Reached, `${target} answered`);
    const summary = item.scores!.map((s) => `${s.name} ${s.metric} ${round(s.score!)} ± ${round(s.stderr!)} (n=${s.n})`).join(', ');
    this.event('Normal', R.Evaluated, `${checkpoint ? `step ${checkpoint.step}: ` : ''}${summary || 'no scores'}`);
  }

  /** A run failed: the evaluation fails (a changed spec tries again). Unreachable model → ModelReachable=False. */
  runFailed(reason: string, message: string, hash: string): void {
    delete this.status.run;
    this.status.failedSpec = hash;
    if (reason === R.ModelUnreachable) this.condition(C.ModelReachable, false, R.ModelUnreachable, message);
    this.failed(reason, message);
  }

  /** A trainingJob target's run failed on its checkpoint (not on the tasks): skipped, the next checkpoint goes on. */
  runSkipped(reason: string, message: string, checkpoint: Checkpoint | undefined): void {
    delete this.status.run;
    this.status.training = { ...(this.status.training ?? {}), failed: (this.status.training?.failed ?? 0) + 1 };
    if (reason === R.ModelUnreachable) this.condition(C.ModelReachable, false, R.ModelUnreachable, message);
    this.event('Warning', reason, `${checkpoint ? `checkpoint step ${checkpoint.step} skipped` : 'run skipped'}: ${message}`);
  }

  failed(reason: string, message: string): void {
    this.status.phase = EvalPhase.Failed;
    this.condition(C.Complete, false, reason, message);
    if (this.condition(C.Failed, true, reason, message)) this.event('Warning', reason, message);
  }

  succeeded(message: string): void {
    this.status.phase = EvalPhase.Succeeded;
    this.condition(C.Failed, false, R.Evaluated, message);
    if (this.condition(C.Complete, true, R.Evaluated, message)) this.event('Normal', R.Evaluated, message);
  }

  /** Nothing to run now, more to come (a trainingJob target waiting for checkpoints). */
  waiting(reason: string, message: string): void {
    this.status.phase = EvalPhase.Running;
    this.condition(C.Complete, false, reason, message);
  }

  /** A spec change after a failure: the failure no longer describes this spec. */
  retrying(): void {
    delete this.status.failedSpec;
    if (this.cond(C.Failed)?.status === 'True') this.condition(C.Failed, false, R.Resumed, 'the spec changed since the failure; evaluating again');
  }
}

const round = (x: number) => Number(x.toPrecision(4));

// Pure status computation. The reconciler feeds observations in (pods, report, decisions) and writes the result
// once; events are collected here and emitted only after that write succeeded.
import { isDeepStrictEqual } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { ConditionType, Labels, Phase, Reason } from '../../api/constants.js';
import type { IMoETrainingJob, IMoETrainingJobStatus } from '../../api/types.gen.js';
import type { WriteFailure } from '../children.js';
import { PROGRESS_FIELDS, type CheckpointReport, type ProgressReport } from '../../contract/index.js';
import { StatusBuilderBase } from '../status-builder.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const isTerminalPhase = (p: string | undefined) => p === Phase.Succeeded || p === Phase.Failed;

export class StatusBuilder extends StatusBuilderBase<IMoETrainingJobStatus> {
  constructor(job: IMoETrainingJob, now: Date) {
    super(job, now);
    this.status.restarts ??= 0;
    this.status.attempt ??= 0;
  }

  get attempt(): number {
    return this.status.attempt ?? 0;
  }

  /** A job whose children cannot be written has not started: it shows Pending (with the condition) until they are. */
  override writeFailed(f: WriteFailure): void {
    super.writeFailed(f);
    this.status.phase ??= Phase.Pending;
  }


  unschedulable(reason: string, message: string): void {
    if (this.condition(ConditionType.Planned, false, reason, message)) this.event('Warning', reason, message);
    this.status.phase = Phase.Unschedulable;
  }

  planned(summary: NonNullable<IMoETrainingJobStatus['plan']>, degraded: string[]): void {
    const msg = `${summary.pods} pods, world size ${summary.worldSize}, placement score ${summary.placementScore?.toFixed(3)}`;
    if (this.condition(ConditionType.Planned, true, Reason.PlanReady, msg)) {
      this.event('Normal', Reason.PlanReady, msg);
      if (degraded.length) this.event('Warning', Reason.PlacementDegraded, degraded.join('; ').slice(0, 900));
    }
    this.status.plan = summary;
  }

  /** What rank 0 reported (contract/reports.ts readJobReport): the progress fields that were well-formed, the checkpoint. */
  report(progress: Partial<ProgressReport> | undefined, checkpoint: CheckpointReport | undefined): void {
    if (progress && Object.keys(progress).length) {
      const prev = this.status.progress ?? {};
      // SFT's held-out loss arrives once more after the last step, with the same step fields.
      const same = PROGRESS_FIELDS.every((k) => prev[k] === progress[k]) && prev.heldOutLoss === progress.heldOutLoss;
      if (!same) this.status.progress = { ...progress, updateTime: iso(this.now) };
    }
    const latest = this.status.checkpoints?.latest;
    if (checkpoint && (latest?.step === undefined || checkpoint.step > latest.step)) {
      this.status.checkpoints = { latest: { step: checkpoint.step, uri: checkpoint.uri, time: iso(this.now) } };
      this.event('Normal', Reason.CheckpointRecorded, `checkpoint at step ${checkpoint.step}: ${checkpoint.uri}`);
    }
  }

  suspended(): void {
    if (this.condition(ConditionType.Suspended, true, Reason.SuspendedBySpec, 'spec.suspend is true; pods deleted, state kept')) {
      this.event('Normal', Reason.SuspendedBySpec, 'job suspended; pods deleted');
    }
    this.condition(ConditionType.Running, false, Reason.SuspendedBySpec);
    this.condition(ConditionType.GangReleased, false, Reason.SuspendedBySpec);
    delete this.status.startTime;
    this.status.phase = Phase.Suspended;
  }

  resumedIfSuspended(): void {
    const wasSuspended = this.status.conditions?.some((c) => c.type === ConditionType.Suspended && c.status === 'True');
    if (wasSuspended) {
      this.condition(ConditionType.Suspended, false, Reason.Resumed, 'resuming from the latest checkpoint');
      this.event('Normal', Reason.Resumed, `resuming from checkpoint step ${this.status.checkpoints?.latest?.step ?? 'none'}`);
    }
  }

  /** Every pod of the attempt exists and none is held by the gang gate any more: created ungated, or its gate removed. */
  released(pods: number, gated = true, why = ''): void {
    this.status.startTime = iso(this.now);
    const how = gated ? `scheduling gates removed from all ${pods} pods` : `all ${pods} pods created without the gang gate`;
    this.condition(ConditionType.GangReleased, true, Reason.GangReleased, `${pods} pods released together (attempt ${this.attempt}, ${gated ? 'gated' : 'ungated'}${why ? `: ${why}` : ''})`);
    this.event('Normal', Reason.GangReleased, `${how} (attempt ${this.attempt})`);
  }

  /** Phase and readiness from the current attempt's pods (after the gang is released). */
  fromPods(pods: readonly V1Pod[], expected: number): void {
    const byStage = new Map<number, { pods: number; ready: number }>();
    let running = 0;
    for (const p of pods) {
      const stage = Number(p.metadata?.labels?.[Labels.stage] ?? 0);
      const s = byStage.get(stage) ?? { pods: 0, ready: 0 };
      s.pods++;
      const ready = p.status?.phase === 'Running';
      if (ready) {
        s.ready++;
        running++;
      }
      byStage.set(stage, s);
    }
    this.status.stages = [...byStage.entries()].sort((a, b) => a[0] - b[0]).map(([stage, s]) => ({ stage, ...s }));
    if (!this.status.startTime) {
      this.status.phase = Phase.Pending;
      this.condition(ConditionType.Running, false, Reason.WaitingForPods, `${pods.length}/${expected} pods created; the gang is released when all exist`);
      return;
    }
    if (running === expected) {
      this.status.phase = Phase.Running;
      this.condition(ConditionType.Running, true, Reason.AllRanksRunning, `${running} pods running`);
      this.condition(ConditionType.Restarting, false, Reason.AllRanksRunning);
    } else {
      this.status.phase = Phase.Starting;
      this.condition(ConditionType.Running, false, Reason.PodsStarting, `${running}/${expected} pods running`);
    }
  }

  /** A counted or uncounted gang restart was decided. */
  restart(reasonLabel: string, explanation: string, counts: boolean, backoffSeconds: number, excludeNode: string | undefined, failure: IMoETrainingJobStatus['lastFailure']): void {
    this.status.attempt = this.attempt + 1;
    if (counts) this.status.restarts = (this.status.restarts ?? 0) + 1;
    if (excludeNode && !(this.status.excludedNodes ?? []).includes(excludeNode)) this.status.excludedNodes = [...(this.status.excludedNodes ?? []), excludeNode];
    if (failure) this.status.lastFailure = { ...failure, time: iso(this.now) };
    this.status.restartAfter = iso(new Date(this.now.getTime() + backoffSeconds * 1000));
    delete this.status.startTime;
    this.status.phase = Phase.Restarting;
    const resume = this.status.checkpoints?.latest?.step;
    const msg = `${explanation}; restarting the gang in ${backoffSeconds}s from ${resume !== undefined ? `checkpoint step ${resume}` : 'the start'} (restart ${this.status.restarts}${counts ? '' : ', not counted'})`;
    this.condition(ConditionType.Restarting, true, Reason.RankFailed, msg);
    this.condition(ConditionType.Running, false, Reason.RankFailed, explanation);
    this.condition(ConditionType.GangReleased, false, Reason.RankFailed, 'gang torn down');
    this.event('Warning', 'GangRestart', `${msg} [${reasonLabel}]`);
  }

  waitingForRestart(): void {
    this.status.phase = Phase.Restarting;
  }

  restartStarted(): void {
    delete this.status.restartAfter;
    this.condition(ConditionType.Restarting, false, Reason.GangRestarted, `attempt ${this.attempt} started`);
  }

  failed(reason: string, message: string): void {
    this.status.phase = Phase.Failed;
    this.status.completionTime ??= iso(this.now);
    delete this.status.restartAfter;
    if (this.condition(ConditionType.Failed, true, reason, message)) this.event('Warning', reason, message);
    this.condition(ConditionType.Running, false, reason, message);
  }

  succeeded(message: string): void {
    this.status.phase = Phase.Succeeded;
    this.status.completionTime ??= iso(this.now);
    if (this.condition(ConditionType.Succeeded, true, Reason.RankZeroSucceeded, message)) this.event('Normal', Reason.RankZeroSucceeded, message);
    this.condition(ConditionType.Running, false, Reason.RankZeroSucceeded, message);
  }
}

/**
 * The Succeeded message. A runtime that never reports progress (a plain PyTorch script honours the env contract but
 * not the report ConfigMap) leaves no step: say so rather than print "step ?".
 */
export function rankZeroSucceededMessage(pod: string | undefined, step: number | undefined): string {
  const who = `rank 0${pod ? ` (pod ${pod})` : ''} exited 0`;
  return step === undefined ? `${who}; the runtime reported no progress, so the last step is not known` : `${who} at step ${step}`;
}

/**
 * A placement worth a warning: cross-leaf traffic more than 5% above its lower bound (the planner's quality bar), or
 * nodes left out. The weighted score alone is no signal: its bound is loose, and 0.98 is often the best there is.
 */
export function placementDegraded(s: { crossLeafBytes: number; crossLeafLowerBound: number; explanations: string[] }): boolean {
  return s.crossLeafBytes > s.crossLeafLowerBound * 1.05 || s.explanations.some((e) => e.includes('excluded'));
}

/**
 * Whether `next` differs from `prev` only in counts: the per-stage pod counts and condition messages ("12/256 pods
 * running"), not in phase, condition status or reason, or any other field. A gang starting moves these on every pod
 * event; the reconciler writes such a change at most once a second per job. Pure.
 */
export function countsOnly(prev: IMoETrainingJobStatus, next: IMoETrainingJobStatus): boolean {
  const strip = (s: IMoETrainingJobStatus) => ({ ...s, stages: undefined, conditions: s.conditions?.map((c) => ({ ...c, message: undefined })) });
  return isDeepStrictEqual(strip(prev), strip(next)); // key order aside: the API server's differs from ours
}


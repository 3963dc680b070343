// Pure status computation for an InferenceDeployment: the reconciler feeds observations in and writes the result once;
// events are collected here and emitted only after that write succeeded.
import { InfdConditionType as C, InfdPhase, InfdReason as R, ROLES, type RoleName } from '../../api/constants.js';
import type { IInferenceDeploymentStatus, IInferenceDeploymentStatusRolesDecode } from '../../api/types.gen.js';
import type { PodLoadReport } from '../../contract/index.js';
import type { WriteFailure } from '../children.js';
import { StatusBuilderBase } from '../status-builder.js';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export type RoleStatus = IInferenceDeploymentStatusRolesDecode;

export interface RoleObservation {
  desired: number;
  current: number;
  ready: number;
  updated: number;
  revision: string;
  endpoints: string[];
  rolling: boolean;
  /** Replicas missing, extra, or not ready: scaling or starting. */
  settling: boolean;
  waiting?: string;
  /** Speculative decoding of the role's live leaders (speculativeStatus). */
  speculative?: RoleStatus['speculative'];
}

/** A role's speculative decoding from its live leaders' load reports (cumulative since each started); undefined when none drafts. */
export function speculativeStatus(reports: readonly PodLoadReport[], role: RoleName): RoleStatus['speculative'] {
  let drafted = 0, accepted = 0, steps = 0;
  for (const r of reports) {
    if (r.role !== role || !r.speculative) continue;
    drafted += r.speculative.drafted;
    accepted += r.speculative.accepted;
    steps += r.speculative.steps;
  }
  if (drafted === 0 || steps === 0) return undefined;
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  return { draftedTokens: drafted, acceptedTokens: accepted, acceptanceRate: round(accepted / drafted), meanAcceptedLength: round((accepted + steps) / steps) };
}

export class InfdStatusBuilder extends StatusBuilderBase<IInferenceDeploymentStatus> {
  private readonly obs: Partial<Record<RoleName, RoleObservation>> = {};
  private routerObs: { desired: number; ready: number } | undefined;
  private degraded: Array<{ reason: string; message: string }> = [];
  private blocked: string | undefined;


  modelReady(uri: string, resolvedFrom: string, message: string): void {
    const changed = this.status.model?.uri !== uri || !this.isTrue(C.ModelReady);
    this.status.model = { uri, resolvedFrom };
    this.condition(C.ModelReady, true, R.ModelResolved, message);
    if (changed) this.event('Normal', R.ModelResolved, message);
  }

  private isTrue(type: string): boolean {
    return (this.status.conditions ?? []).some((c) => c.type === type && c.status === 'True');
  }

  modelWaiting(reason: string, message: string): void {
    const was = (this.status.conditions ?? []).find((c) => c.type === C.ModelReady);
    this.condition(C.ModelReady, false, reason, message);
    if (was?.status !== 'False' || was.reason !== reason) this.event(reason === R.WaitingForTrainingJob ? 'Normal' : 'Warning', reason, message);
  }

  /** Something keeps the deployment from progressing (no topology, no room): shown in Progressing. */
  blockedBy(reason: string, message: string): void {
    this.blocked = `${reason}: ${message}`;
  }

  /** A replica's gang broke; `next` says when it comes back (restarts.ts), `exhausted` that it does not. */
  replicaFailed(role: RoleName, replica: number, why: string, next?: string, exhausted = false): void {
    const msg = `${role} replica ${replica}: ${why}${next ? `; ${next}` : ''}`;
    this.degraded.push({ reason: exhausted ? R.RestartBudgetExhausted : R.ReplicaFailed, message: msg });
    if (exhausted) this.event('Warning', R.RestartBudgetExhausted, msg);
    else this.event('Warning', R.ReplicaRestarted, `${role} replica ${replica} restarted as a unit: ${why}${next ? `; ${next}` : ''}`);
  }

  /** A replica restarted earlier is not ready again yet. */
  recovering(role: RoleName, replica: number): void {
    this.degraded.push({ reason: R.ReplicaFailed, message: `${role} replica ${replica} is restarting` });
  }

  /** A failed replica is held down: waiting out its backoff, or out of restarts. */
  restartHeld(role: RoleName, replica: number, hold: { reason: 'RestartBackoff'; waitMs: number } | { reason: 'RestartBudgetExhausted' }): void {
    const message =
      hold.reason === 'RestartBackoff'
        ? `${role} replica ${replica} failed; restarting in ${Math.ceil(hold.waitMs / 1000)}s (backoff)`
        : `${role} replica ${replica} is down: restart budget (spec.failurePolicy.maxRestarts) used up; change the spec to try again`;
    this.degraded.push({ reason: hold.reason, message });
  }

  /** A child could not be written: the deployment cannot progress, so it is Degraded with that reason too. */
  override writeFailed(f: WriteFailure): void {
    super.writeFailed(f);
    this.condition(C.Degraded, true, f.reason, f.message.slice(0, 2000));
    this.status.phase = InfdPhase.Degraded;
  }

  role(role: RoleName, o: RoleObservation, placement?: RoleStatus['placement']): void {
    this.obs[role] = o;
    const roles = (this.status.roles ??= {});
    const s: RoleStatus = {
      replicas: o.desired,
      currentReplicas: o.current,
      readyReplicas: o.ready,
      updatedReplicas: o.updated,
      ready: `${o.ready}/${o.desired}`,
      revision: o.revision,
      endpoints: o.endpoints,
    };
    const p = placement ?? roles[role]?.placement;
    if (p) s.placement = p;
    if (o.speculative) s.speculative = o.speculative;
    roles[role] = s;
  }

  router(desired: number, ready: number, url: string): void {
    this.routerObs = { desired, ready };
    this.status.router = { replicas: desired, readyReplicas: ready, url };
  }

  placementPublished(role: RoleName, version: number, before: number, after: number): void {
    const roles = (this.status.roles ??= {});
    const s = (roles[role] ??= {});
    s.placement = { version, balanceBefore: before, balanceAfter: after, updatedAt: iso(this.now) };
    this.event('Normal', R.Rebalanced, `${role}: expert placement v${version} published; max/mean GPU load ${before.toFixed(3)} → ${after.toFixed(3)}`);
  }

  /** Available, Progressing, Degraded and the phase, from what was observed. */
  finish(): void {
    const dec = this.obs.decode;
    const pre = this.obs.prefill;
    const rt = this.routerObs;
    const roleOk = (o: RoleObservation | undefined) => !!o && (o.desired === 0 ? true : o.ready >= 1);
    const available = !!dec && dec.ready >= 1 && roleOk(pre) && !!rt && rt.ready >= 1;
    const parts = ROLES.map((r) => `${r} ${this.obs[r]?.ready ?? 0}/${this.obs[r]?.desired ?? 0}`).join(', ') + `, router ${rt?.ready ?? 0}/${rt?.desired ?? 0}`;
    const wasAvailable = this.isTrue(C.Available);
    const allReady = ROLES.every((r) => (this.obs[r]?.ready ?? 0) >= (this.obs[r]?.desired ?? 0)) && !!rt && rt.ready >= rt.desired;
    this.condition(C.Available, available, available ? (allReady ? R.AllReplicasReady : R.MinimumReplicasAvailable) : R.ReplicasUnavailable, `ready: ${parts}`);
    if (available && !wasAvailable) this.event('Normal', C.Available, `serving: ${parts}`);
    if (!available && wasAvailable) this.event('Warning', R.ReplicasUnavailable, `not serving: ${parts}`);

    const rolling = ROLES.filter((r) => this.obs[r]?.rolling);
    const settling = ROLES.filter((r) => this.obs[r]?.settling);
    const routerSettling = !!rt && rt.ready !== rt.desired;
    const waits = ROLES.map((r) => this.obs[r]?.waiting && `${r}: ${this.obs[r]!.waiting}`).filter(Boolean);
    if (rolling.length) this.condition(C.Progressing, true, R.RolloutInProgress, [`rolling ${rolling.join(' and ')} (${ROLES.map((r) => `${r} ${this.obs[r]?.updated ?? 0}/${this.obs[r]?.desired ?? 0} updated`).join(', ')})`, ...waits, this.blocked].filter(Boolean).join('; '));
    else if (settling.length || routerSettling || this.blocked) this.condition(C.Progressing, true, R.ScalingInProgress, [`replicas: ${parts}`, ...waits, this.blocked].filter(Boolean).join('; '));
    else this.condition(C.Progressing, false, R.Stable, `all replicas at revision and ready: ${parts}`);

    // The most serious reason names the condition: out of restarts, then backing off, then restarting.
    const worst = [R.RestartBudgetExhausted, R.RestartBackoff, R.ReplicaFailed].find((r) => this.degraded.some((d) => d.reason === r)) ?? R.ReplicaFailed;
    if (this.degraded.length) this.condition(C.Degraded, true, worst, this.degraded.map((d) => d.message).join('; '));
    else this.condition(C.Degraded, false, R.Healthy);

    if (this.degraded.length) this.status.phase = InfdPhase.Degraded;
    else if (rolling.length || settling.length || routerSettling || this.blocked) this.status.phase = available ? InfdPhase.Progressing : dec || pre ? InfdPhase.Progressing : InfdPhase.Pending;
    else this.status.phase = available ? InfdPhase.Available : InfdPhase.Pending;
  }

  waitingForModel(): void {
    this.status.phase = InfdPhase.WaitingForModel;
  }
}

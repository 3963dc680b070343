// Pure rollout and scaling decisions for the gangs of both roles, Deployment-style, one step per reconcile.
//
// Per role, with N desired replicas, target revision T, S = maxSurge, U = maxUnavailable (resolved):
//   - no gang at an older revision: scaling only. Missing replicas are created at the lowest free indexes, extra ones
//     deleted highest index first. Never a rollout. A replica restarting after a failure (`preferred`) is recreated
//     under its own index once its old pods are gone.
//   - otherwise (rolling): new = gangs at T, old = the rest, total = all gangs (terminating ones included, so a
//     surge is never exceeded while old pods drain).
//       create   = min(N + S − total, N − new)                     (never more than N + S gangs)
//       scaleDown = total − (N − U) − unreadyNew                    (Deployment's bound)
//       delete unready old gangs first (they serve nothing), then ready old ones while ready ≥ N − U holds:
//       readyDelete = min(scaleDown − unreadyDeleted, readyOld + readyNew − (N − U))
//   - prefill and decode roll in step: only the roles whose updated fraction new/N is the smallest of the rolling
//     roles may create gangs, so the prefill:decode ratio of new gangs tracks the spec while both change.
import type { RoleName } from '../../api/constants.js';

export interface GangView {
  replica: number;
  revision: string;
  ready: boolean;
  terminating: boolean;
}

export interface RoleRolloutInput {
  role: RoleName;
  desired: number;
  revision: string;
  maxSurge: number;
  maxUnavailable: number;
  gangs: readonly GangView[];
  /** Free indexes to use first: replicas being restarted come back under their own index. */
  preferred?: readonly number[];
}

export interface RoleDecision {
  create: number[];
  delete: number[];
  rolling: boolean;
  /** Gangs at the target revision / ready (before this step's actions). */
  updated: number;
  ready: number;
  /** Why nothing was created although replicas are missing (for the Progressing message). */
  waiting?: string;
}

function freeIndexes(used: Set<number>, n: number, preferred: readonly number[] = []): number[] {
  const out: number[] = [];
  for (const i of preferred) if (out.length < n && !used.has(i) && !out.includes(i)) out.push(i);
  for (let i = 0; out.length < n; i++) if (!used.has(i) && !out.includes(i)) out.push(i);
  return out;
}

export function decideRollout(inputs: readonly RoleRolloutInput[]): Record<string, RoleDecision> {
  const out: Record<string, RoleDecision> = {};
  const isRolling = (r: RoleRolloutInput) => r.gangs.some((g) => !g.terminating && g.revision !== r.revision);
  // Updated fraction of each rolling role; the laggards set the pace.
  const fraction = (r: RoleRolloutInput) => r.gangs.filter((g) => !g.terminating && g.revision === r.revision).length / Math.max(1, r.desired);
  const rolling = inputs.filter((r) => isRolling(r) && r.desired > 0);
  const pace = rolling.length ? Math.min(...rolling.map(fraction)) : 1;

  for (const r of inputs) {
    const live = r.gangs.filter((g) => !g.terminating);
    const used = new Set(r.gangs.map((g) => g.replica));
    const fresh = live.filter((g) => g.revision === r.revision);
    const old = live.filter((g) => g.revision !== r.revision);
    const d: RoleDecision = { create: [], delete: [], rolling: old.length > 0, updated: fresh.length, ready: live.filter((g) => g.ready).length };
    const N = r.desired;
    // A replica restarting as a unit comes back under its own index once its old pods are gone: no stand-in meanwhile.
    const draining = (r.preferred ?? []).filter((i) => r.gangs.some((g) => g.replica === i && g.terminating)).length;
    if (old.length === 0) {
      if (fresh.length + draining < N) d.create = freeIndexes(used, N - fresh.length - draining, r.preferred);
      if (fresh.length > N) d.delete = fresh.map((g) => g.replica).sort((a, b) => b - a).slice(0, fresh.length - N);
      out[r.role] = d;
      continue;
    }
    const total = r.gangs.length;
    const minAvailable = Math.max(0, N - r.maxUnavailable);
    const readyNew = fresh.filter((g) => g.ready).length;
    const readyOld = old.filter((g) => g.ready).length;
    const unreadyNew = fresh.length - readyNew;
    const byIndexDesc = (a: GangView, b: GangView) => b.replica - a.replica;
    let scaleDown = total - minAvailable - unreadyNew;
    for (const g of old.filter((x) => !x.ready).sort(byIndexDesc)) {
      if (scaleDown <= 0) break;
      d.delete.push(g.replica);
      scaleDown--;
    }
    let readyDelete = Math.min(scaleDown, readyOld + readyNew - minAvailable);
    for (const g of old.filter((x) => x.ready).sort(byIndexDesc)) {
      if (readyDelete <= 0) break;
      d.delete.push(g.replica);
      readyDelete--;
    }
    const want = Math.min(N + r.maxSurge - total, N - fresh.length - draining);
    if (want > 0 && fraction(r) > pace + 1e-9) d.waiting = `waiting for the other role to catch up (${(pace * 100).toFixed(0)}% updated there)`;
    else if (want > 0) d.create = freeIndexes(used, want, r.preferred);
    else if (fresh.length < N) d.waiting = `at the surge bound (${total} of ${N + r.maxSurge} gangs); waiting for new gangs to become ready`;
    out[r.role] = d;
  }
  return out;
}

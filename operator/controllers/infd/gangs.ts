// Pure: the pods of a role grouped into gangs (replicas), with the facts the rollout and failure handling need.
import type { V1Pod } from '@kubernetes/client-node';
import { InfdLabels, type RoleName } from '../../api/constants.js';
import { isGated } from '../gates.js';

export interface Gang {
  role: RoleName;
  replica: number;
  revision: string;
  /** Pods of the replica that are not being deleted, by pod index. */
  pods: V1Pod[];
  /** Some pod of the replica is being deleted (the reconciler narrows this to deletions it made itself). */
  terminating: boolean;
  /** Names of the replica's pods that are being deleted. */
  deleting: string[];
  /** Some pod is still behind the gang gate. */
  gated: boolean;
  /** Every expected pod exists, runs, and is Ready. */
  ready: boolean;
  /** The first pod that failed (or exited: serving pods never should). */
  failed?: { pod: string; reason: string; node?: string };
}

export const isPodReady = (p: V1Pod): boolean => p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

function failureOf(p: V1Pod): Gang['failed'] {
  const ph = p.status?.phase;
  if (ph !== 'Failed' && ph !== 'Succeeded') return undefined;
  const t = p.status?.containerStatuses?.[0]?.state?.terminated;
  const reason = p.status?.reason ?? t?.reason ?? (ph === 'Succeeded' ? 'Exited' : 'Error');
  return { pod: p.metadata!.name!, reason: t?.exitCode !== undefined ? `${reason} (exit code ${t.exitCode})` : reason, ...(p.spec?.nodeName ? { node: p.spec.nodeName } : {}) };
}

/** Groups a role's pods by replica label; `expectedPods` is podsPerReplica. Sorted by replica. */
export function observeGangs(pods: readonly V1Pod[], role: RoleName, expectedPods: number): Gang[] {
  const by = new Map<number, V1Pod[]>();
  for (const p of pods) {
    const l = p.metadata?.labels ?? {};
    if (l[InfdLabels.role] !== role) continue;
    const r = Number(l[InfdLabels.replica]);
    if (!Number.isInteger(r) || r < 0) continue;
    (by.get(r) ?? by.set(r, []).get(r)!).push(p);
  }
  const gangs: Gang[] = [];
  for (const [replica, all] of by) {
    const live = all.filter((p) => !p.metadata?.deletionTimestamp).sort((a, b) => Number(a.metadata?.labels?.[InfdLabels.podIndex]) - Number(b.metadata?.labels?.[InfdLabels.podIndex]));
    const revs = new Set(all.map((p) => p.metadata?.labels?.[InfdLabels.revision] ?? ''));
    const g: Gang = {
      role,
      replica,
      // Mixed revisions cannot happen for pods the operator created together; treat them as the oldest (not updated).
      revision: revs.size === 1 ? [...revs][0]! : '',
      pods: live,
      terminating: live.length < all.length,
      deleting: all.filter((p) => p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!),
      gated: live.some(isGated),
      ready: live.length === expectedPods && live.every(isPodReady),
    };
    const f = live.map(failureOf).find((x) => x);
    if (f) g.failed = f;
    gangs.push(g);
  }
  return gangs.sort((a, b) => a.replica - b.replica);
}

/** The GangReleased event's message. `podNodes` has one node per pod; each node is named once, with its pod count. */
export function gangReleasedMessage(role: RoleName, replica: number, podNodes: readonly string[], leaves: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of podNodes) counts.set(n, (counts.get(n) ?? 0) + 1);
  const nodes = [...counts].map(([n, k]) => (k > 1 ? `${n} (${k} pods)` : n)).join(', ');
  return `${role} replica ${replica}: ${podNodes.length} pod(s) released together on ${nodes} (leaf ${[...new Set(leaves)].join(', ')})`;
}

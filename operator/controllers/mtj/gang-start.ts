// How a MoETrainingJob's gang starts (pure). Two ways; the decision and its failure modes: README.md, "Gang start".
//  - ungated: the pods are created without the gang gate, in one wave: one write per pod. All-or-nothing rests on the
//    placement (every pod pinned by node selector to a node the planner saw room on, checked again just before the
//    creates) and on the bind watchdog (stuckPods): a gang the scheduler cannot place whole is torn down, not left
//    half-running;
//  - gated: the pods are created behind moe.io/gang and the gate comes off all of them once all exist: two writes per
//    pod, and no pod binds (holds GPUs) before the whole gang exists. Kept where the operator cannot vouch for the room.
import type { V1Pod } from '@kubernetes/client-node';
import { isGated } from '../gates.js';

/** status.lastFailure.reason of a gang torn down because the scheduler could not place all of it. */
export const BIND_TIMEOUT_REASON = 'GangBindTimeout';

/** How long after the release a pod the scheduler called Unschedulable may stay unbound before the gang is torn down. */
export const DEFAULT_BIND_DEADLINE_MS = 60_000;

export interface GangStartFacts {
  /** The job is in a Kueue queue (Kueue admits it through its pod-group gate; ours holds the gang until all exist). */
  queued: boolean;
  /** spec.schedulerName: another scheduler (Volcano, coscheduling) may gang-schedule on its own terms. */
  schedulerName?: string | undefined;
  /** status.lastFailure.reason: the previous attempt's gang did not all bind. */
  lastFailureReason?: string | undefined;
  /** Pods of this attempt that exist already: their way is kept (an operator restarted half-way continues it). */
  current: readonly V1Pod[];
  /** Planned nodes that lack room for this job's pods there, by the operator's view of the fleet (placementShort). */
  short: readonly string[];
  /** A create of this attempt was refused while its pods went out ungated (they were deleted again). */
  refused: boolean;
}

/** Whether the gang's pods are created behind the gate, and why (for the GangReleased condition). Pure. */
export function gangStart(f: GangStartFacts): { gated: boolean; why: string } {
  // Before the pods that exist: the ungated ones of a refused attempt are on their way out.
  if (f.refused) return { gated: true, why: 'a pod create of this attempt was refused' };
  const live = f.current.filter((p) => !p.metadata?.deletionTimestamp);
  if (live.length) {
    const gated = live.some(isGated);
    return { gated, why: `continuing the ${gated ? 'gated' : 'ungated'} creation of this attempt` };
  }
  if (f.queued) return { gated: true, why: 'Kueue admits the gang (pod group); the gate holds it until every pod exists' };
  if (f.schedulerName && f.schedulerName !== 'default-scheduler') return { gated: true, why: `scheduler ${f.schedulerName} places the pods` };
  if (f.lastFailureReason === BIND_TIMEOUT_REASON) return { gated: true, why: 'the previous gang did not all bind' };
  if (f.short.length) return { gated: true, why: `no verified room on ${f.short.slice(0, 3).join(', ')}${f.short.length > 3 ? ', …' : ''}` };
  return { gated: false, why: 'room verified on every planned node' };
}

/**
 * The planned nodes without room for this job's pods: free GPUs (allocatable less what `used` says others hold) below
 * what the placement puts there. Pure.
 */
export function placementShort(placement: ReadonlyArray<{ node: string }>, gpusPerPod: number, allocatable: ReadonlyMap<string, number>, used: ReadonlyMap<string, number>): string[] {
  const need = new Map<string, number>();
  for (const p of placement) need.set(p.node, (need.get(p.node) ?? 0) + gpusPerPod);
  return [...need].filter(([node, n]) => (allocatable.get(node) ?? 0) - (used.get(node) ?? 0) < n).map(([node]) => node);
}

/** Pods of a released gang that are unbound and that the scheduler has reported Unschedulable (their node is full). */
export function stuckPods(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter(
    (p) =>
      !p.spec?.nodeName &&
      !p.metadata?.deletionTimestamp &&
      !isGated(p) &&
      (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable'),
  );
}

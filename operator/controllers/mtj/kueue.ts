// Kueue admission of a MoETrainingJob (pure): the job's pods form one Kueue plain-pod group. A job labelled
// kueue.x-k8s.io/queue-name gets pods labelled with a group name and annotated with the group's size (and one role, so
// Kueue sees one pod set of N identical pods, not N pod sets); Kueue's pod webhook adds its own scheduling gate, and
// Kueue removes it when the group's Workload is admitted. The operator's gang gate stays until every pod exists and
// Kueue has admitted them, so a pod starts only when both allow. Placement stays the operator's: its node selectors
// are on the pods before Kueue sees them, and a ResourceFlavor without topologyName adds none that could fight them.
// Preemption: Kueue marks the pods (condition TerminationTarget) and deletes them; the operator then restarts the gang
// without spending the restart budget, and the new pods queue again and resume from the latest checkpoint.
// Why the pod-group integration (not a Go integration or a Workload the operator writes): see the README's Kueue section.
import type { V1Pod } from '@kubernetes/client-node';
import { ConditionType } from '../../api/constants.js';
import type { IMoETrainingJob } from '../../api/types.gen.js';
import type { StatusBuilder } from './status.js';

/** Kueue's names (sigs.k8s.io/kueue pkg/controller/jobs/pod/constants, v0.17). */
export const Kueue = {
  queueLabel: 'kueue.x-k8s.io/queue-name',
  groupLabel: 'kueue.x-k8s.io/pod-group-name',
  groupTotalCount: 'kueue.x-k8s.io/pod-group-total-count',
  roleHash: 'kueue.x-k8s.io/role-hash',
  /** "false" on a pod: the group is not retried, so it is finished once no pod runs (frees the quota at job end). */
  retriableInGroup: 'kueue.x-k8s.io/retriable-in-group',
  /** The scheduling gate Kueue's pod webhook adds and removes at admission. */
  gate: 'kueue.x-k8s.io/admission',
  /** Kueue's finalizer on the pods it manages. */
  finalizer: 'kueue.x-k8s.io/managed',
  /** The pod condition Kueue sets before it deletes the pods of an evicted (e.g. preempted) Workload. */
  stopCondition: 'TerminationTarget',
} as const;

/** The job's condition while Kueue holds it; absent on jobs without a queue. */
export const QUEUED_CONDITION = 'Queued';
export const KueueReason = {
  WaitingForAdmission: 'WaitingForKueueAdmission',
  Admitted: 'AdmittedByKueue',
  Preempted: 'PreemptedByKueue',
} as const;

/** The LocalQueue the job names, or undefined when Kueue does not manage it. */
export function kueueQueue(job: IMoETrainingJob): string | undefined {
  const q = job.metadata?.labels?.[Kueue.queueLabel];
  return q ? q : undefined;
}

/** The pod group (and Kueue's Workload) name: the job name and its UID, so a re-created job of the same name never
 *  meets the Workload of the old one; a valid label value and object name (≤ 63 characters). */
export function podGroupName(job: IMoETrainingJob): string {
  const name = job.metadata?.name ?? '';
  const uid = (job.metadata?.uid ?? '').replace(/-/g, '').slice(0, 8);
  return `${name.slice(0, 63 - 1 - uid.length)}-${uid}`;
}

/** The labels and annotations that put a pod into the job's Kueue group (none when the job has no queue). */
export function kueueGroupMeta(job: IMoETrainingJob, pods: number): { labels: Record<string, string>; annotations: Record<string, string> } | undefined {
  if (!kueueQueue(job)) return undefined;
  return {
    labels: { [Kueue.groupLabel]: podGroupName(job) },
    // All pods of a gang ask for the same resources: one role, so the Workload has one pod set of `pods` pods.
    annotations: { [Kueue.groupTotalCount]: String(pods), [Kueue.roleHash]: 'worker' },
  };
}

/** `pod` with the job's Kueue group metadata (unchanged when the job has no queue). */
export function withKueueGroup(pod: V1Pod, job: IMoETrainingJob, pods: number): V1Pod {
  const meta = kueueGroupMeta(job, pods);
  if (!meta) return pod;
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      labels: { ...(pod.metadata?.labels ?? {}), ...meta.labels },
      annotations: { ...(pod.metadata?.annotations ?? {}), ...meta.annotations },
    },
  };
}

/** Pods that Kueue has not admitted yet (they still carry its gate). */
export function awaitingAdmission(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter((p) => p.spec?.schedulingGates?.some((g) => g.name === Kueue.gate));
}

/** Kueue's stop mark on a pod (its Workload was evicted: preempted, or its quota reservation lost), if any. */
export function kueueStop(pods: readonly V1Pod[]): { pod: string; reason: string; message: string } | undefined {
  for (const p of pods) {
    const c = p.status?.conditions?.find((x) => x.type === Kueue.stopCondition && x.status === 'True');
    if (c) return { pod: p.metadata?.name ?? '', reason: c.reason ?? 'Evicted', message: c.message ?? '' };
  }
  return undefined;
}

/** JSON patch that drops Kueue's finalizer from a pod the operator deletes (undefined when it has none). Kueue keeps
 *  a group's pods until it sees replacements, but a gang's new pods have the old pods' names: the operator must let
 *  them go. The test makes a reordered finalizer list fail (retried on the next reconcile) instead of removing
 *  someone else's entry. */
export function dropFinalizerPatch(pod: V1Pod): Array<Record<string, unknown>> | undefined {
  const i = pod.metadata?.finalizers?.indexOf(Kueue.finalizer) ?? -1;
  if (i < 0) return undefined;
  return [
    { op: 'test', path: `/metadata/finalizers/${i}`, value: Kueue.finalizer },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ];
}

/** Pods of a finished job that still need the "not retriable" mark, so Kueue finishes the Workload and frees the quota. */
export function needFinishMark(job: IMoETrainingJob, pods: readonly V1Pod[]): V1Pod[] {
  if (!kueueQueue(job)) return [];
  return pods.filter((p) => p.metadata?.labels?.[Kueue.groupLabel] && !p.metadata?.deletionTimestamp && p.metadata?.annotations?.[Kueue.retriableInGroup] !== 'false');
}

export const FINISH_MARK_PATCH = { metadata: { annotations: { [Kueue.retriableInGroup]: 'false' } } };

/** Status while the gang waits for Kueue: Queued=True with the queue and Workload names. */
export function queuedByKueue(st: StatusBuilder, job: IMoETrainingJob, waiting: number, total: number): void {
  const q = kueueQueue(job);
  const msg = `waiting for Kueue to admit Workload ${podGroupName(job)} in LocalQueue ${q} (${waiting}/${total} pods held by its gate)`;
  if (st.condition(QUEUED_CONDITION, true, KueueReason.WaitingForAdmission, msg)) st.event('Normal', KueueReason.WaitingForAdmission, msg);
}

/** Status once Kueue admitted the gang (only for Kueue-managed jobs). */
export function admittedByKueue(st: StatusBuilder, job: IMoETrainingJob): void {
  const q = kueueQueue(job);
  if (!q) return;
  const msg = `Kueue admitted Workload ${podGroupName(job)} from LocalQueue ${q}`;
  if (st.condition(QUEUED_CONDITION, false, KueueReason.Admitted, msg)) st.event('Normal', KueueReason.Admitted, msg);
}

/** Status after Kueue stopped the gang: the restart is not counted, and the new gang queues again. */
export function preemptedByKueue(st: StatusBuilder, job: IMoETrainingJob, stop: { pod: string; reason: string; message: string }): void {
  const resume = st.status.checkpoints?.latest?.step;
  const msg = `Kueue stopped the gang (${stop.reason}: ${stop.message || 'no message'}); the new pods queue in LocalQueue ${kueueQueue(job)} and resume from ${resume !== undefined ? `checkpoint step ${resume}` : 'the start'}`.slice(0, 1000);
  st.restart(KueueReason.Preempted, msg, false, 0, undefined, { pod: stop.pod, reason: KueueReason.Preempted });
  st.condition(ConditionType.Restarting, true, KueueReason.Preempted, msg);
  st.condition(QUEUED_CONDITION, true, KueueReason.Preempted, msg);
}

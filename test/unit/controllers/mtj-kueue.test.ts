// The pure Kueue pod-group helpers of the MoETrainingJob controller (operator/controllers/mtj/kueue.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { awaitingAdmission, dropFinalizerPatch, kueueStop, needFinishMark, podGroupName, withKueueGroup } from '../../../operator/controllers/mtj/kueue.js';
import { StatusBuilder } from '../../../operator/controllers/mtj/status.js';
import { preemptedByKueue, queuedByKueue } from '../../../operator/controllers/mtj/kueue.js';
import type { IMoETrainingJob } from '../../../operator/api/types.gen.js';

const job = (labels: Record<string, string> = { 'kueue.x-k8s.io/queue-name': 'team-q' }, name = 'pretrain'): IMoETrainingJob =>
  ({ apiVersion: 'moe.io/v1alpha1', kind: 'MoETrainingJob', metadata: { name, namespace: 'ns', uid: '0a1b2c3d-4e5f-6789-abcd-ef0123456789', labels, generation: 1 }, spec: {} }) as unknown as IMoETrainingJob;
const pod = (extra: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name: 'pretrain-0', labels: {}, annotations: { 'moe.io/plan-hash': 'h' } }, spec: { containers: [] }, ...extra });

test('a job with a queue: its pods join one group of N pods with one role; without a queue nothing changes', () => {
  const p = withKueueGroup(pod(), job(), 4);
  assert.deepEqual(p.metadata!.labels, { 'kueue.x-k8s.io/pod-group-name': 'pretrain-0a1b2c3d' });
  assert.deepEqual(p.metadata!.annotations, { 'moe.io/plan-hash': 'h', 'kueue.x-k8s.io/pod-group-total-count': '4', 'kueue.x-k8s.io/role-hash': 'worker' });
  const plain = pod();
  assert.equal(withKueueGroup(plain, job({}), 4), plain);
});

test('the group name stays a valid 63-character label value for the longest job names', () => {
  const g = podGroupName(job(undefined, 'x'.repeat(63)));
  assert.equal(g.length, 63);
  assert.match(g, /^x{54}-0a1b2c3d$/);
});

test("pods still behind Kueue's gate, and Kueue's stop mark", () => {
  const gated = pod({ spec: { containers: [], schedulingGates: [{ name: 'moe.io/gang' }, { name: 'kueue.x-k8s.io/admission' }] } });
  const ours = pod({ spec: { containers: [], schedulingGates: [{ name: 'moe.io/gang' }] } });
  assert.deepEqual(awaitingAdmission([gated, ours]), [gated]);
  assert.equal(kueueStop([ours]), undefined);
  const stopped = pod({ status: { conditions: [{ type: 'TerminationTarget', status: 'True', reason: 'WorkloadEvicted', message: 'Preempted to accommodate a workload' }] } });
  assert.deepEqual(kueueStop([ours, stopped]), { pod: 'pretrain-0', reason: 'WorkloadEvicted', message: 'Preempted to accommodate a workload' });
});

test("Kueue's finalizer is removed by index, guarded by a test of that entry", () => {
  assert.equal(dropFinalizerPatch(pod()), undefined);
  const p = pod({ metadata: { name: 'a', finalizers: ['other.io/x', 'kueue.x-k8s.io/managed'] } });
  assert.deepEqual(dropFinalizerPatch(p), [
    { op: 'test', path: '/metadata/finalizers/1', value: 'kueue.x-k8s.io/managed' },
    { op: 'remove', path: '/metadata/finalizers/1' },
  ]);
});

test('a finished job marks only its grouped, undeleted, unmarked pods; a job without a queue marks none', () => {
  const grouped = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, labels: { 'kueue.x-k8s.io/pod-group-name': 'g' }, ...extra } }) as V1Pod;
  const a = grouped('a');
  const marked = grouped('b', { annotations: { 'kueue.x-k8s.io/retriable-in-group': 'false' } });
  const deleting = grouped('c', { deletionTimestamp: new Date() });
  assert.deepEqual(needFinishMark(job(), [a, marked, deleting, pod()]), [a]);
  assert.deepEqual(needFinishMark(job({}), [a]), []);
});

test('status: queued names the Workload and LocalQueue; preemption restarts uncounted and queues again', () => {
  const st = new StatusBuilder(job(), new Date('2026-01-01T00:00:00Z'));
  queuedByKueue(st, job(), 2, 2);
  const q = st.status.conditions!.find((c) => c.type === 'Queued')!;
  assert.equal(q.status, 'True');
  assert.equal(q.reason, 'WaitingForKueueAdmission');
  assert.equal(q.message, 'waiting for Kueue to admit Workload pretrain-0a1b2c3d in LocalQueue team-q (2/2 pods held by its gate)');
  st.status.checkpoints = { latest: { step: 40, uri: 'file:///c/step-40', time: '2026-01-01T00:00:00Z' } };
  preemptedByKueue(st, job(), { pod: 'pretrain-1', reason: 'WorkloadEvicted', message: 'Preempted' });
  assert.equal(st.status.restarts, 0, 'not counted');
  assert.equal(st.status.attempt, 1);
  assert.equal(st.status.phase, 'Restarting');
  const r = st.status.conditions!.find((c) => c.type === 'Queued')!;
  assert.equal(r.reason, 'PreemptedByKueue');
  assert.match(r.message!, /queue in LocalQueue team-q and resume from checkpoint step 40/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusBuilder, placementDegraded } from '../../../operator/controllers/mtj/status.js';
import { validateJob } from '../../../operator/controllers/mtj/validate.js';
import { stableStringify } from '../../../operator/controllers/mtj/reconciler.js';
import { gpusInUse, toNodeLike } from '../../../operator/controllers/mtj/plan-input.js';
import { makeJob } from './fixtures.js';

const now = new Date('2026-03-01T10:00:00Z');
const pod = (stage: number, phase: string) => ({ metadata: { labels: { 'moe.io/stage': String(stage) } }, status: { phase } }) as any;

test('a newer checkpoint is recorded with an event; an older one is not', () => {
  const st = new StatusBuilder(makeJob('a').with((j) => (j.status = { checkpoints: { latest: { step: 20, uri: 'u20', time: 't' } } })).obj(), now);
  st.report(undefined, { step: 10, uri: 'u10' });
  assert.equal(st.status.checkpoints!.latest!.step, 20);
  st.report(undefined, { step: 30, uri: 'u30' });
  assert.deepEqual(st.status.checkpoints!.latest, { step: 30, uri: 'u30', time: '2026-03-01T10:00:00Z' });
  assert.deepEqual(st.events.map((e) => e.reason), ['CheckpointRecorded']);
});

test('phase follows the pods: Pending before release, Starting, then Running with per-stage readiness', () => {
  const st = new StatusBuilder(makeJob('a').obj(), now);
  st.fromPods([pod(0, 'Pending')], 2);
  assert.equal(st.status.phase, 'Pending');
  st.released(2);
  st.fromPods([pod(0, 'Running'), pod(1, 'Pending')], 2);
  assert.equal(st.status.phase, 'Starting');
  st.fromPods([pod(0, 'Running'), pod(1, 'Running')], 2);
  assert.equal(st.status.phase, 'Running');
  assert.deepEqual(st.status.stages, [{ stage: 0, pods: 1, ready: 1 }, { stage: 1, pods: 1, ready: 1 }]);
  assert.equal(st.status.conditions!.find((c) => c.type === 'Running')!.status, 'True');
});

test('a restart bumps attempt and restarts, records the failure and excluded node, and sets the backoff deadline', () => {
  const st = new StatusBuilder(makeJob('a').obj(), now);
  st.released(2);
  st.restart('Error', 'pod a-1 failed', true, 20, 'n1', { pod: 'a-1', reason: 'Error', node: 'n1', exitCode: 1 });
  assert.equal(st.status.attempt, 1);
  assert.equal(st.status.restarts, 1);
  assert.deepEqual(st.status.excludedNodes, ['n1']);
  assert.equal(st.status.restartAfter, '2026-03-01T10:00:20Z');
  assert.equal(st.status.startTime, undefined);
  assert.equal(st.status.phase, 'Restarting');
  st.restart('Error', 'again', false, 5, 'n1', undefined);
  assert.equal(st.status.restarts, 1, 'an uncounted restart does not spend the budget');
  assert.equal(st.status.attempt, 2);
  assert.deepEqual(st.status.excludedNodes, ['n1']);
});

test('validation names the field and the fix', () => {
  assert.deepEqual(validateJob(makeJob('ok').obj()), []);
  const errs = validateJob(makeJob('x'.repeat(60)).pipeline(3, 'DualPipe', 5).experts(3).gpusPerPod(1).obj());
  assert.ok(errs.some((e) => e.startsWith('metadata.name: 60 characters')));
  assert.ok(errs.some((e) => e.includes('stages: DualPipe needs an even count, got 3')));
  assert.ok(errs.some((e) => e.includes('microBatches: DualPipe needs at least 2 x stages = 6, got 5')));
  assert.ok(errs.some((e) => e.startsWith('spec.parallelism.expert:')));
  const bad = validateJob(makeJob('t').with((j) => (j.spec.template = { spec: { containers: [{ name: 'x' }] } })).obj());
  assert.deepEqual(bad, ['spec.template.spec.containers[0].image: required']);
});

test('free GPUs subtract other jobs\' bound and gated pods but not the job\'s own', () => {
  const p = (ns: string, job: string, node: { nodeName?: string; sel?: string }, gpus: number) =>
    ({
      metadata: { namespace: ns, labels: { 'moe.io/job-name': job } },
      spec: { ...(node.nodeName ? { nodeName: node.nodeName } : {}), ...(node.sel ? { nodeSelector: { 'kubernetes.io/hostname': node.sel } } : {}), containers: [{ resources: { requests: { 'nvidia.com/gpu': String(gpus) } } }] },
      status: { phase: 'Running' },
    }) as any;
  const used = gpusInUse([p('t', 'other', { nodeName: 'n1' }, 8), p('t', 'gated', { sel: 'n2' }, 4), p('t', 'me', { nodeName: 'n2' }, 4)], 'nvidia.com/gpu', 'me', 't');
  const nodes = toNodeLike(
    ['n1', 'n2', 'n3'].map((name) => ({ metadata: { name, labels: {} }, status: { allocatable: { 'nvidia.com/gpu': '8' }, conditions: [{ type: 'Ready', status: 'True' }] } })) as any,
    used,
    'nvidia.com/gpu',
  );
  assert.deepEqual(nodes.map((n) => n.allocatableGpus), [0, 4, 8]);
});

test('stableStringify ignores key order and undefined', () => {
  assert.equal(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } }), stableStringify({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }));
});

test('what the planner\'s spec reader rejects (batch not divisible) is a spec error, not a capacity one', () => {
  const errs = validateJob(makeJob('b').with((j) => (j.spec.training = { globalBatchSize: 12 })).obj());
  assert.ok(errs.some((e) => e.startsWith('spec.training.globalBatchSize')), errs.join('\n'));
});

test('a placement is degraded when cross-leaf traffic is over 5% above its bound or nodes were left out, not for a loose score', () => {
  const at = (cross: number, explanations: string[] = []) => ({ crossLeafBytes: cross, crossLeafLowerBound: 100, explanations });
  assert.equal(placementDegraded(at(100, ['each EP group sits inside one leaf'])), false);
  assert.equal(placementDegraded(at(105)), false);
  assert.equal(placementDegraded(at(106)), true);
  assert.equal(placementDegraded(at(100, ['3 node(s) excluded (see excludedNodes)'])), true);
});

test('countsOnly: stage counts and condition messages are counts; phase, a condition status or reason, anything else is not', async () => {
  const { countsOnly } = await import('../../../operator/controllers/mtj/status.js');
  const base = new StatusBuilder(makeJob('a').obj(), now);
  base.released(2);
  base.fromPods([pod(0, 'Running'), pod(1, 'Pending')], 2);
  const prev = structuredClone(base.status);
  const more = new StatusBuilder(makeJob('a').with((j) => (j.status = structuredClone(prev))).obj(), now);
  more.fromPods([pod(0, 'Running'), pod(1, 'Pending'), pod(1, 'Running')], 3);
  assert.notDeepEqual(more.status.stages, prev.stages);
  assert.equal(countsOnly(prev, more.status), true, 'a pod more running, same phase');
  const running = new StatusBuilder(makeJob('a').with((j) => (j.status = structuredClone(prev))).obj(), now);
  running.fromPods([pod(0, 'Running'), pod(1, 'Running')], 2);
  assert.equal(running.status.phase, 'Running');
  assert.equal(countsOnly(prev, running.status), false, 'the phase moved to Running');
  assert.equal(countsOnly(prev, { ...prev, restarts: 1 }), false);
  assert.equal(countsOnly(prev, { ...prev, conditions: prev.conditions!.map((c) => (c.type === 'Running' ? { ...c, reason: 'Other' } : c)) }), false);
  assert.equal(countsOnly(prev, structuredClone(prev)), true);
});

// Status of an InferenceDeployment: conditions, phase and events from observations; validation and model source.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IMoETrainingJob } from '../../../operator/api/types.gen.js';
import { resolveModelSource } from '../../../operator/controllers/infd/model-source.js';
import { InfdStatusBuilder, type RoleObservation } from '../../../operator/controllers/infd/status.js';
import { validateDeployment } from '../../../operator/controllers/infd/validate.js';
import { PRESETS } from '../../../operator/plan/presets.js';
import { makeDeployment } from './infd-fixtures.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const role = (o: Partial<RoleObservation> = {}): RoleObservation => ({ desired: 1, current: 1, ready: 1, updated: 1, revision: 'r', endpoints: [], rolling: false, settling: false, ...o });
const cond = (st: InfdStatusBuilder, t: string) => st.status.conditions?.find((c) => c.type === t);

describe('conditions and phase', () => {
  test('Available needs a ready decode replica, a ready prefill replica (unless prefill is 0) and a ready router', () => {
    const cases: Array<[string, Partial<RoleObservation>, Partial<RoleObservation>, number, boolean]> = [
      ['all ready', {}, {}, 1, true],
      ['no router', {}, {}, 0, false],
      ['decode not ready', {}, { ready: 0, settling: true }, 1, false],
      ['prefill 0 = decode prefills locally', { desired: 0, current: 0, ready: 0 }, {}, 1, true],
      ['prefill wanted but not ready', { ready: 0, settling: true }, {}, 1, false],
    ];
    for (const [name, pre, dec, routers, want] of cases) {
      const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
      st.role('prefill', role(pre));
      st.role('decode', role(dec));
      st.router(1, routers, 'http://s');
      st.finish();
      assert.equal(cond(st, 'Available')?.status, want ? 'True' : 'False', name);
    }
  });

  test('a stable, ready deployment: Available, not Progressing, not Degraded; one Available event', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    st.role('prefill', role());
    st.role('decode', role({ desired: 2, current: 2, ready: 2, updated: 2 }));
    st.router(1, 1, 'http://s');
    st.finish();
    assert.equal(st.status.phase, 'Available');
    assert.equal(cond(st, 'Progressing')?.status, 'False');
    assert.equal(cond(st, 'Degraded')?.status, 'False');
    assert.equal(st.status.roles?.decode?.ready, '2/2');
    assert.deepEqual(st.events.map((e) => e.reason), ['Available']);
    // The same observation again: no new event.
    const d2 = makeDeployment('s').obj();
    d2.status = st.status;
    const st2 = new InfdStatusBuilder(d2, NOW);
    st2.role('prefill', role());
    st2.role('decode', role({ desired: 2, current: 2, ready: 2, updated: 2 }));
    st2.router(1, 1, 'http://s');
    st2.finish();
    assert.deepEqual(st2.events, []);
  });

  test('a rollout in flight: Progressing with the updated counts; a failed replica: Degraded + ReplicaRestarted', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    st.role('prefill', role());
    st.role('decode', role({ desired: 2, current: 3, ready: 2, updated: 1, rolling: true, settling: true }));
    st.router(1, 1, 'http://s');
    st.replicaFailed('decode', 1, 'pod s-decode-1-1 was deleted');
    st.finish();
    assert.equal(cond(st, 'Progressing')?.reason, 'RolloutInProgress');
    assert.match(cond(st, 'Progressing')!.message, /decode 1\/2 updated/);
    assert.equal(cond(st, 'Degraded')?.status, 'True');
    assert.equal(st.status.phase, 'Degraded');
    assert.ok(st.events.some((e) => e.reason === 'ReplicaRestarted' && /s-decode-1-1/.test(e.message)));
  });

  test('invalid spec: Valid=False with the messages, phase Invalid', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    st.invalid(['spec.roles.decode.redundantExperts: bad']);
    assert.equal(st.status.phase, 'Invalid');
    assert.equal(cond(st, 'Valid')?.message, 'spec.roles.decode.redundantExperts: bad');
  });

  test('a published placement lands in status with its figures and a Rebalanced event', () => {
    const st = new InfdStatusBuilder(makeDeployment('s').obj(), NOW);
    st.placementPublished('decode', 3, 2.5, 1.1);
    assert.deepEqual(st.status.roles?.decode?.placement, { version: 3, balanceBefore: 2.5, balanceAfter: 1.1, updatedAt: '2026-01-01T00:00:00Z' });
    assert.match(st.events[0]!.message, /v3.*2\.500 → 1\.100/);
  });
});

describe('validation', () => {
  test('a valid deployment has no errors', () => {
    assert.deepEqual(validateDeployment(makeDeployment('s').obj(), PRESETS['deepseek-v3-tiny']), []);
  });

  test('experts + redundant that do not split over the EP size, and a long name, are named with the fix', () => {
    const d = makeDeployment('x'.repeat(41)).decode({ redundantExperts: 3 }).obj();
    const errs = validateDeployment(d, PRESETS['deepseek-v3-tiny']);
    assert.equal(errs.length, 2, errs.join('\n'));
    assert.match(errs[0]!, /^metadata.name: 41 characters; use at most 40/);
    assert.match(errs[1]!, /^spec.roles.decode.redundantExperts: 16 routed experts \+ 3 redundant = 19 slots do not split evenly over 16 GPUs/);
  });

  test('a Kueue queue label is refused, naming the label and the fix (Kueue would admit a replica pod by pod)', () => {
    const d = makeDeployment('s').with((x) => (x.metadata!.labels = { 'kueue.x-k8s.io/queue-name': 'q1', 'volcano.sh/queue-name': 'v' })).obj();
    assert.deepEqual(validateDeployment(d, PRESETS['deepseek-v3-tiny']), [
      'metadata.labels[kueue.x-k8s.io/queue-name]: "q1": Kueue does not admit InferenceDeployment replicas (only MoETrainingJobs, as pod groups); remove the label and leave the deployment\'s GPUs outside the ClusterQueue\'s quota',
    ]);
  });

  test('parallelism the CEL rules would reject (older CRD) is caught too', () => {
    const d = makeDeployment('s').decode({ parallelism: { expert: 8, tensor: 3 } }).obj();
    const errs = validateDeployment(d);
    assert.ok(errs.some((e) => e.startsWith('spec.roles.decode.parallelism.expert: 8 must equal podsPerReplica x gpusPerPod = 16')), errs.join('\n'));
    assert.ok(errs.some((e) => e.startsWith('spec.roles.decode.parallelism.tensor: 3 must divide gpusPerPod (8)')), errs.join('\n'));
  });
});

describe('model source', () => {
  const fromJob = () => makeDeployment('s').with((d) => (d.spec.model = { trainingJob: { name: 'tj' } })).obj();
  const job = (phase: string): IMoETrainingJob => ({
    apiVersion: 'moe.io/v1alpha1',
    kind: 'MoETrainingJob',
    metadata: { name: 'tj', namespace: 'team', uid: 'u' },
    spec: { model: { preset: 'deepseek-v3-tiny' }, parallelism: {} as any, checkpoint: { uri: 'file:///ckpt/' } },
    status: { phase: phase as any, progress: { step: 24 } },
  });

  test('waits for the job, names it when missing, and serves <checkpoint.uri>/<ns>/<job>/export once it succeeded', () => {
    const missing = resolveModelSource(fromJob(), undefined);
    assert.deepEqual([missing.ready, !missing.ready && missing.reason], [false, 'TrainingJobNotFound']);
    const running = resolveModelSource(fromJob(), job('Running'));
    assert.equal(!running.ready && running.reason, 'WaitingForTrainingJob');
    assert.match(!running.ready ? running.message : '', /phase Running, step 24/);
    const done = resolveModelSource(fromJob(), job('Succeeded'));
    assert.equal(done.ready && done.uri, 'file:///ckpt/team/tj/export');
  });

  test('a model once resolved from the job keeps being served when the job is deleted later', () => {
    const d = fromJob();
    d.status = { model: { uri: 'file:///ckpt/team/tj/export', resolvedFrom: 'MoETrainingJob/tj' } };
    const r = resolveModelSource(d, undefined);
    assert.equal(r.ready && r.uri, 'file:///ckpt/team/tj/export');
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPod, contractEnv, headlessService, needsService, planDocument, reporterRbac } from '../../../operator/controllers/mtj/desired.js';
import { makeJob, makePlan } from './fixtures.js';

const ctx = { attempt: 2, resumeStep: 300, resumeUri: 'file:///ck/team/a/step-300', gpuResource: 'nvidia.com/gpu', rdmaResource: 'rdma/ib' };

test('every pod is created gated, pinned to the node the plan chose, and owned by the job', () => {
  const job = makeJob('a').obj();
  const plan = makePlan(3, 8);
  const pod = buildPod(job, plan, 2, ctx, 'h');
  assert.deepEqual(pod.spec!.schedulingGates, [{ name: 'moe.io/gang' }]);
  assert.deepEqual(pod.spec!.nodeSelector, { 'kubernetes.io/hostname': 'node-2' });
  assert.equal(pod.metadata!.name, 'a-2');
  assert.deepEqual(pod.metadata!.ownerReferences, [{ apiVersion: 'moe.io/v1alpha1', kind: 'MoETrainingJob', name: 'a', uid: 'uid-a', controller: true, blockOwnerDeletion: true }]);
  assert.equal(pod.spec!.hostname, 'a-2');
  assert.equal(pod.spec!.subdomain, 'a');
  assert.equal(pod.spec!.restartPolicy, 'Never');
  assert.equal(pod.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu'], '8');
  assert.equal(pod.spec!.containers[0]!.resources!.limits!['rdma/ib'], '1');
  assert.equal(pod.metadata!.labels!['moe.io/attempt'], '2');
});

test('an ungated pod (gang-start.ts chose the one-write start) differs only by the gate', () => {
  const job = makeJob('a').obj();
  const plan = makePlan(3, 8);
  const gated = buildPod(job, plan, 1, ctx, 'h');
  const ungated = buildPod(job, plan, 1, ctx, 'h', false);
  assert.equal(ungated.spec!.schedulingGates, undefined);
  delete gated.spec!.schedulingGates;
  assert.deepEqual(ungated, gated);
});

test('the contract env carries torchrun names, the rank coordinates of the pod\'s first rank, and the restart', () => {
  const job = makeJob('a').obj();
  const plan = makePlan(4, 4, 2); // world 16, PP 2, EP 8
  const env = Object.fromEntries(contractEnv(job, plan, 3, ctx).map((e) => [e.name, e.value]));
  assert.equal(env.MASTER_ADDR, 'a-0.a.team.svc');
  assert.equal(env.MASTER_PORT, '29500');
  assert.equal(env.WORLD_SIZE, '16');
  assert.equal(env.RANK, '12');
  assert.equal(env.LOCAL_WORLD_SIZE, '4');
  assert.equal(env.MOE_PP_RANK, '1');
  assert.equal(env.MOE_EP_RANK, '4');
  assert.equal(env.MOE_DP_RANK, '0');
  assert.equal(env.MOE_TP_RANK, '0');
  assert.equal(env.MOE_PLAN, '/etc/moe/plan/plan.json');
  assert.equal(env.MOE_JOB, 'team/a');
  assert.equal(env.MOE_RESTART, '2');
  assert.equal(env.MOE_RESUME_STEP, '300');
});

test('a one-pod gang has no per-pod DNS name: its ranks meet at the pod\'s own hostname, without a Service', () => {
  const job = makeJob('a').obj();
  const one = makePlan(1, 8);
  assert.equal(needsService(one), false);
  const pod = buildPod(job, one, 0, ctx, 'h');
  assert.equal(pod.spec!.hostname, 'a-0');
  assert.equal(pod.spec!.subdomain, undefined);
  const env = Object.fromEntries(contractEnv(job, one, 0, ctx).map((e) => [e.name, e.value]));
  assert.equal(env.MASTER_ADDR, 'a-0');
  assert.equal(env.WORLD_SIZE, '8');
  assert.equal(needsService(makePlan(2, 8)), true);
});

test('only the pod holding rank 0 gets the reporter service account; the others get no token', () => {
  const job = makeJob('a').obj();
  const plan = makePlan(2, 8);
  const p0 = buildPod(job, plan, 0, ctx, 'h');
  const p1 = buildPod(job, plan, 1, ctx, 'h');
  assert.equal(p0.spec!.serviceAccountName, 'a-reporter');
  assert.equal(p0.spec!.automountServiceAccountToken, true);
  assert.equal(p1.spec!.serviceAccountName, undefined);
  assert.equal(p1.spec!.automountServiceAccountToken, false);
});

test('the reporter Role allows get/patch on the one report ConfigMap and nothing else', () => {
  const [, role, binding] = reporterRbac(makeJob('a').obj()) as any[];
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['a-report'], verbs: ['get', 'patch'] }]);
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'a-reporter', namespace: 'team' }]);
});

test('queue labels on the job are copied to pods; other labels are not; schedulerName is passed through', () => {
  const job = makeJob('a').label('kueue.x-k8s.io/queue-name', 'gpu').label('team', 'x').with((j) => (j.spec.schedulerName = 'volcano')).obj();
  const pod = buildPod(job, makePlan(1, 8), 0, ctx, 'h');
  assert.equal(pod.metadata!.labels!['kueue.x-k8s.io/queue-name'], 'gpu');
  assert.equal(pod.metadata!.labels!.team, undefined);
  assert.equal(pod.spec!.schedulerName, 'volcano');
});

test('the template\'s container is kept, its env merged (contract wins), and the plan mounted', () => {
  const job = makeJob('a')
    .with((j) => (j.spec.template = { spec: { containers: [{ name: 'main', image: 'img:1', env: [{ name: 'FOO', value: '1' }, { name: 'RANK', value: 'bogus' }] }] } }))
    .obj();
  const c = buildPod(job, makePlan(1, 8), 0, ctx, 'h').spec!.containers[0]!;
  assert.equal(c.image, 'img:1');
  assert.equal(c.env!.find((e) => e.name === 'FOO')!.value, '1');
  assert.deepEqual(c.env!.filter((e) => e.name === 'RANK'), [{ name: 'RANK', value: '0' }]);
  assert.deepEqual(c.volumeMounts, [{ name: 'moe-plan', mountPath: '/etc/moe/plan', readOnly: true }]);
});

test('the headless Service publishes not-ready addresses and selects the job\'s pods', () => {
  const s = headlessService(makeJob('a').obj());
  assert.equal(s.spec.clusterIP, 'None');
  assert.equal(s.spec.publishNotReadyAddresses, true);
  assert.deepEqual(s.spec.selector, { 'moe.io/job-name': 'a' });
});

test('the plan document says where checkpoints go and which step to resume from', () => {
  const doc = planDocument(makeJob('a').with((j) => (j.spec.checkpoint = { uri: 's3://b/ck/' })).obj(), makePlan(1, 8), ctx);
  assert.equal(doc.checkpoint.dir, 's3://b/ck/team/a');
  assert.equal(doc.checkpoint.resumeStep, 300);
  assert.deepEqual(doc.report, { configMap: 'a-report', namespace: 'team' });
});

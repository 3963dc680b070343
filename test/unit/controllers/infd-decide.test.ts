// decide(): one reconcile of an InferenceDeployment as pure code. Fleet: 1 leaf × 8 nodes × 8 GPUs (gpu-s0-l0-n0 …
// n7); the deployment of makeDeployment('s'): prefill 1 replica × 1 pod, decode 2 replicas × 2 pods, 8 GPUs a pod.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { InfdAnnotations, SCHEDULING_GATE, type RoleName } from '../../../operator/api/constants.js';
import type { IClusterTopology, IInferenceDeployment, IInferenceRole } from '../../../operator/api/types.gen.js';
import { decide, finishStatus, type InfdDecision, type InfdObserved } from '../../../operator/controllers/infd/decide.js';
import { inferenceRole } from '../../../operator/controllers/infd/desired.js';
import { defaultTopology, fleetNodes } from '../../../operator/plan/placement/fleet.js';
import { makeDeployment } from './infd-fixtures.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const nodes: V1Node[] = fleetNodes({ spines: 1, leavesPerSpine: 1, nodesPerLeaf: 8, gpusPerNode: 8 }).map((n) => ({
  metadata: { name: n.name, labels: n.labels },
  status: { allocatable: { 'nvidia.com/gpu': '8' }, conditions: [{ type: 'Ready', status: 'True' }] },
}));
const topology = { apiVersion: 'moe.io/v1alpha1', kind: 'ClusterTopology', metadata: { name: 'default' }, spec: defaultTopology(8) } as IClusterTopology;

const observed = (o: Partial<InfdObserved> = {}): InfdObserved => ({
  now: NOW,
  topology,
  roles: {},
  pods: [],
  nodes,
  managedPods: [],
  inFlight: [],
  creating: new Set(),
  deleting: new Set(),
  backoffMs: 0,
  memory: { restarts: new Map(), restarting: new Set() },
  ...o,
});

type Plan = Extract<InfdDecision, { hold: false }>;
function plan(dep: IInferenceDeployment, o: InfdObserved): Plan {
  const d = decide(dep, o);
  assert.equal(d.hold, false);
  return d as Plan;
}

const hostOf = (p: V1Pod) => p.spec?.nodeSelector?.['kubernetes.io/hostname'];
const starts = (d: Plan) => d.rollout.flatMap((a) => ('start' in a ? [a] : []));

/** What the cluster shows once the pods of `d` have started and become ready: gate gone, Running, Ready, an IP each. */
function running(d: Plan): V1Pod[] {
  let ip = 1;
  return [...starts(d).flatMap((a) => a.start), ...d.routers.create].map((p) => {
    const q = structuredClone(p);
    q.spec!.schedulingGates = [];
    q.spec!.nodeName = hostOf(p) ?? 'gpu-s0-l0-n7';
    q.status = { phase: 'Running', podIP: `10.0.0.${ip++}`, conditions: [{ type: 'Ready', status: 'True' }] };
    return q;
  });
}

/** The InferenceRoles as the API server holds them after `d` created them. */
function rolesOf(dep: IInferenceDeployment, replicas: Record<RoleName, number>): Partial<Record<RoleName, IInferenceRole>> {
  const ir = (r: RoleName) => {
    const o = inferenceRole(dep, r, replicas[r]) as unknown as IInferenceRole;
    o.metadata = { ...o.metadata, generation: 3 };
    return o;
  };
  return { prefill: ir('prefill'), decode: ir('decode') };
}

describe('decide: a new deployment', () => {
  const dep = makeDeployment('s').obj();
  const d = plan(dep, observed());

  test('creates both InferenceRoles with the spec counts', () => {
    assert.deepEqual(d.roleWrites.map((w) => ('create' in w ? [w.role, w.create.spec.replicas] : [w.role, 'exists'])), [['prefill', 1], ['decode', 2]]);
  });

  test('places every replica whole on free GPUs, each GPU offered once, and reports each start', () => {
    assert.deepEqual(starts(d).map((a) => [a.role, a.replica, a.start.map((p) => `${p.metadata!.name}@${hostOf(p)}`)]), [
      ['prefill', 0, ['s-prefill-0-0@gpu-s0-l0-n0']],
      ['decode', 0, ['s-decode-0-0@gpu-s0-l0-n1', 's-decode-0-1@gpu-s0-l0-n2']],
      ['decode', 1, ['s-decode-1-0@gpu-s0-l0-n3', 's-decode-1-1@gpu-s0-l0-n4']],
    ]);
    assert.ok(starts(d).every((a) => a.start.every((p) => p.spec!.schedulingGates!.some((g) => g.name === SCHEDULING_GATE))), 'created behind the gang gate');
    assert.deepEqual(starts(d)[1]!.events, [
      { type: 'Normal', reason: 'GangReleased', message: 'decode replica 0: 2 pod(s) released together on gpu-s0-l0-n1, gpu-s0-l0-n2 (leaf s0-l0)' },
      { type: 'Normal', reason: 'ScaledUp', message: 'decode: started replica 0 (desired 2)' },
    ]);
  });

  test('one router, no routes yet, nothing ready: look again in 2 s', () => {
    assert.deepEqual(d.routers.create.map((p) => p.metadata!.name), ['s-router-0']);
    assert.deepEqual(d.routers.delete, []);
    assert.deepEqual(d.routes, { model: 's', prefill: [], decode: [] });
    assert.deepEqual({ ...d.summary.roles.decode, revision: '' }, { desired: 2, current: 2, ready: 0, updated: 2, revision: '', endpoints: [], rolling: false, settling: true });
    assert.deepEqual(d.summary.router, { desired: 1, ready: 0, url: 'http://s.team.svc:8000' });
    assert.deepEqual(d.roleStatuses, {}, 'the InferenceRoles are not in the cache yet');
    assert.equal(d.requeueAfterMs, 2000);
  });

  test('the status is finished only from the summary (after the writes went through)', () => {
    assert.equal(d.status.status.phase, undefined);
    finishStatus(d.status, d.summary);
    assert.equal(d.status.status.phase, 'Progressing');
    assert.equal(d.status.status.roles?.decode?.ready, '0/2');
  });
});

describe('decide: GPUs', () => {
  test('GPUs held by managed pods and by pods in flight are not offered; a replica that does not fit blocks its role', () => {
    const dep = makeDeployment('s').obj();
    const training: V1Pod = { metadata: { name: 'job-0', namespace: 'ml' }, spec: { nodeName: 'gpu-s0-l0-n0', containers: [{ name: 't', resources: { requests: { 'nvidia.com/gpu': '8' } } }] } };
    const inFlight = ['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => ({ node: `gpu-s0-l0-${n}`, gpus: 8 }));
    const d = plan(dep, observed({ managedPods: [training], inFlight }));
    // n0 runs a training pod, n1…n5 hold pods in flight: prefill gets n6; decode's 2 pods do not fit on n7 alone.
    assert.deepEqual(starts(d).map((a) => a.start.map(hostOf)), [['gpu-s0-l0-n6']]);
    finishStatus(d.status, d.summary);
    const progressing = d.status.status.conditions?.find((c) => c.type === 'Progressing');
    assert.match(progressing?.message ?? '', /InsufficientCapacity: decode replica 0: capacity: a replica needs 2 pod\(s\) of 8 GPUs; the free GPUs of the topology's nodes hold only 1/);
  });
});

describe('decide: holds', () => {
  test('an invalid spec writes nothing and is not requeued; status Invalid', () => {
    const dep = makeDeployment('s').decode({ redundantExperts: 3 }).obj();
    const d = decide(dep, observed());
    assert.equal(d.hold, true);
    assert.equal(d.hold && d.result, undefined);
    assert.equal(d.status.status.phase, 'Invalid');
  });

  test('refused writes backing off: the status so far, nothing written, requeued when the backoff ends', () => {
    const d = decide(makeDeployment('s').obj(), observed({ backoffMs: 5000 }));
    assert.equal(d.hold, true);
    assert.deepEqual(d.hold && d.result, { requeueAfterMs: 5000 });
    assert.equal(d.status.status.conditions?.find((c) => c.type === 'ModelReady')?.status, 'True');
  });
});

describe('decide: a running deployment', () => {
  const dep = makeDeployment('s').with((x) => (x.metadata!.generation = 2)).obj();
  const first = plan(dep, observed());
  const pods = running(first);
  const roles = rolesOf(dep, { prefill: 1, decode: 2 });
  roles.prefill!.metadata!.annotations = { [InfdAnnotations.propagatedReplicas]: '1' };
  roles.decode!.metadata!.annotations = { [InfdAnnotations.propagatedReplicas]: '2' };
  const steady = observed({ pods, roles, managedPods: pods });

  test('all ready: nothing to write; the leaders of ready replicas are routed; InferenceRole status stamped with its generation', () => {
    const d = plan(dep, steady);
    assert.deepEqual(d.roleWrites.map((w) => ('existing' in w ? !!w.propagate : 'create')), [false, false]);
    assert.deepEqual([d.gangs, d.rollout, d.routers.create, d.routers.delete], [[], [], [], []]);
    assert.deepEqual(d.routes, {
      model: 's',
      prefill: [{ replica: 0, url: 'http://10.0.0.1:8000' }],
      decode: [{ replica: 0, url: 'http://10.0.0.2:8000' }, { replica: 1, url: 'http://10.0.0.4:8000' }],
    });
    assert.deepEqual(d.roleStatuses.decode, { replicas: 2, readyReplicas: 2, updatedReplicas: 2, selector: 'moe.io/deployment-name=s,moe.io/role=decode', observedGeneration: 3 });
    assert.equal(d.summary.router.ready, 1);
    assert.equal(d.requeueAfterMs, undefined);
  });

  test('a failed pod restarts its gang as a unit: deleted, remembered, no stand-in while it drains, not routed', () => {
    const broken = pods.map((p) => (p.metadata!.name === 's-decode-1-0' ? { ...p, status: { ...p.status, phase: 'Failed', reason: 'Error' } } : p));
    const d = plan(dep, observed({ ...steady, pods: broken }));
    assert.deepEqual(d.gangs.map((a) => ('restart' in a ? [a.key, a.restart.map((p) => p.metadata!.name), a.record, a.failed.why, a.failed.next] : 'release')), [
      ['decode/1', ['s-decode-1-0', 's-decode-1-1'], { failures: 1, notBefore: NOW.getTime() }, 'pod s-decode-1-0 Error on gpu-s0-l0-n3', 'restarting now (failure 1 in a row, budget 5)'],
    ]);
    assert.deepEqual(starts(d), []);
    assert.deepEqual([...d.memory.restarting], ['decode/1']);
    assert.deepEqual([...d.memory.restarts.keys()], ['decode/1']);
    assert.equal(d.memory.generation, 2);
    assert.deepEqual(d.routes.decode, [{ replica: 0, url: 'http://10.0.0.2:8000' }]);
    assert.deepEqual(d.roleStatuses.decode, { replicas: 1, readyReplicas: 1, updatedReplicas: 1, selector: 'moe.io/deployment-name=s,moe.io/role=decode', observedGeneration: 3 });
  });

  test('a pod missing from the cache: on its way when this process just created it, else deleted (restart)', () => {
    const partial = pods.filter((p) => p.metadata!.name !== 's-decode-1-1');
    assert.deepEqual(plan(dep, observed({ ...steady, pods: partial, creating: new Set(['s-decode-1-1']) })).gangs, []);
    const d = plan(dep, observed({ ...steady, pods: partial }));
    assert.deepEqual(d.gangs.map((a) => ('restart' in a ? a.failed.why : 'release')), ['pod s-decode-1-1 was deleted']);
  });

  test('pods this process is deleting are a gang going away, not a broken one', () => {
    const going = pods.map((p) => (p.metadata!.name === 's-decode-1-0' ? { ...p, metadata: { ...p.metadata, deletionTimestamp: NOW } } : p));
    assert.deepEqual(plan(dep, observed({ ...steady, pods: going, deleting: new Set(['s-decode-1-0', 's-decode-1-1']) })).gangs, []);
    const d = plan(dep, observed({ ...steady, pods: going }));
    assert.deepEqual(d.gangs.map((a) => ('restart' in a ? a.failed.why : 'release')), ['pod s-decode-1-0 was deleted']);
  });

  test('a complete gang still behind the gate (created before an operator restart) is released', () => {
    const gated = pods.map((p) => (p.metadata!.name!.startsWith('s-decode-0-') ? { ...p, spec: { ...p.spec!, schedulingGates: [{ name: SCHEDULING_GATE }] } } : p));
    const d = plan(dep, observed({ ...steady, pods: gated }));
    assert.deepEqual(d.gangs.map((a) => ('release' in a ? a.release.map((p) => p.metadata!.name) : a.key)), [['s-decode-0-0', 's-decode-0-1']]);
  });

  test('a GitOps change of the replica count is copied to the InferenceRole once, with an event, and scales up', () => {
    const more = makeDeployment('s').with((x) => (x.metadata!.generation = 2)).decode({ replicas: 3 }).obj();
    const d = plan(more, steady);
    const w = d.roleWrites[1]!;
    assert.ok('existing' in w);
    assert.deepEqual('existing' in w && w.propagate, {
      replicas: 3,
      event: { type: 'Normal', reason: 'ReplicasPropagated', message: 'decode: spec.roles.decode.replicas 3 copied to InferenceRole s-decode (was 2)' },
    });
    assert.deepEqual(starts(d).map((a) => [a.role, a.replica, a.start.map(hostOf)]), [['decode', 2, ['gpu-s0-l0-n5', 'gpu-s0-l0-n6']]]);
    assert.equal(d.summary.roles.decode.desired, 3);
  });

  test('an autoscaler\'s count on the InferenceRole wins while the spec is unchanged: scale down, highest index first', () => {
    const scaled = { ...roles, decode: { ...roles.decode!, spec: { ...roles.decode!.spec, replicas: 1 } } };
    const d = plan(dep, observed({ ...steady, roles: scaled }));
    assert.deepEqual(d.rollout.map((a) => ('delete' in a ? [a.delete.map((p) => p.metadata!.name), a.event.message] : 'start')), [
      [['s-decode-1-0', 's-decode-1-1'], 'decode: deleted replica 1 (desired 1)'],
    ]);
    assert.deepEqual(d.routes.decode, [{ replica: 0, url: 'http://10.0.0.2:8000' }]);
  });
});

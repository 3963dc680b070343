// Pure builders of InferenceDeployment children: the serving pod contract (runtime/src/serve/README.md), RBAC, revisions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { headlessService, inferenceRole, rolePod, roleRevision, routerPod, routerRevision, routesDocument, serveRbac } from '../../../operator/controllers/infd/desired.js';
import { roleShape, rolloutBounds } from '../../../operator/controllers/infd/spec.js';
import { CTX, makeDeployment } from './infd-fixtures.js';

const env = (p: V1Pod) => Object.fromEntries(p.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? `<${e.valueFrom?.fieldRef?.fieldPath}>`]));

describe('serving pods', () => {
  const d = makeDeployment('s').obj();
  const decode = roleShape(d, 'decode');

  test('pod 1 of decode replica 3 carries the contract env; only the leader learns the ConfigMaps', () => {
    const p = rolePod(d, decode, 3, 1, CTX, 'rev1', { 'kubernetes.io/hostname': 'n7' });
    assert.equal(p.metadata!.name, 's-decode-3-1');
    assert.deepEqual(env(p), {
      MOE_SERVE_ROLE: 'decode',
      MOE_DEPLOYMENT: 's',
      MOE_NAMESPACE: 'team',
      MOE_POD_NAME: '<metadata.name>',
      POD_IP: '<status.podIP>',
      MOE_MODEL_PATH: '/checkpoints/team/tj/export',
      MOE_SERVED_MODEL_NAME: 's',
      MOE_SERVE_PORT: '8000',
      MOE_REPLICA: '3',
      MOE_POD_INDEX: '1',
      MOE_PODS_PER_REPLICA: '2',
      MASTER_ADDR: 's-decode-3-0.s-pods.team.svc',
      MASTER_PORT: '29500',
      WORLD_SIZE: '16',
      RANK: '8',
      NODE_RANK: '1',
      NNODES: '2',
      LOCAL_RANK: '0',
      LOCAL_WORLD_SIZE: '8',
      MOE_EP_SIZE: '16',
      MOE_MAX_BATCH: '64',
      MOE_MAX_QUEUE: '256',
    });
    assert.equal(p.spec!.automountServiceAccountToken, false, 'a non-leader has no token');
    assert.equal(p.spec!.serviceAccountName, undefined);
    const leader = rolePod(d, decode, 3, 0, CTX, 'rev1');
    assert.equal(env(leader).MOE_PLACEMENT_CONFIGMAP, 's-placement');
    assert.equal(env(leader).MOE_LOAD_CONFIGMAP, 's-expert-load');
    assert.equal(leader.spec!.serviceAccountName, 's-leader');
    assert.equal(leader.spec!.automountServiceAccountToken, true);
  });

  test('gated, placed by node selector, GPUs requested, labelled with role/replica/revision, `serve` by default', () => {
    const p = rolePod(d, decode, 0, 0, CTX, 'abc', { 'kubernetes.io/hostname': 'n1' });
    assert.deepEqual(p.spec!.schedulingGates, [{ name: 'moe.io/gang' }]);
    assert.deepEqual(p.spec!.nodeSelector, { 'kubernetes.io/hostname': 'n1' });
    assert.equal(p.spec!.affinity, undefined, 'no inter-pod affinity');
    const c = p.spec!.containers[0]!;
    assert.deepEqual(c.resources!.requests, { 'nvidia.com/gpu': '8', 'rdma/ib': '1' });
    assert.deepEqual(c.command, ['moe-runtime']);
    assert.deepEqual(c.args, ['serve']);
    assert.equal(p.spec!.restartPolicy, 'Never');
    assert.equal(p.spec!.hostname, 's-decode-0-0');
    assert.equal(p.spec!.subdomain, 's-pods');
    assert.deepEqual(
      { d: p.metadata!.labels!['moe.io/deployment-name'], r: p.metadata!.labels!['moe.io/role'], rep: p.metadata!.labels!['moe.io/replica'], rev: p.metadata!.labels!['moe.io/revision'] },
      { d: 's', r: 'decode', rep: '0', rev: 'abc' },
    );
    assert.equal(p.metadata!.ownerReferences![0]!.kind, 'InferenceDeployment');
  });

  test('a template that already says `serve` gets no extra args; template env is kept unless the contract sets it', () => {
    const d2 = makeDeployment('s')
      .with((x) => (x.spec.template = { spec: { containers: [{ name: 'srv', image: 'i', command: ['moe-runtime', 'serve'], env: [{ name: 'A', value: '1' }, { name: 'MOE_SERVE_PORT', value: '1' }] }] } }))
      .obj();
    const p = rolePod(d2, roleShape(d2, 'prefill'), 0, 0, CTX, 'r');
    assert.equal(p.spec!.containers[0]!.args, undefined);
    assert.equal(env(p).A, '1');
    assert.equal(env(p).MOE_SERVE_PORT, '8000');
  });

  test('router pods: not gated, no GPUs, the routing ConfigMap and the router ServiceAccount', () => {
    const p = routerPod(d, 1, CTX, 'r');
    assert.equal(p.metadata!.name, 's-router-1');
    assert.equal(p.spec!.schedulingGates, undefined);
    assert.equal(p.spec!.containers[0]!.resources, undefined);
    assert.equal(env(p).MOE_SERVE_ROLE, 'router');
    assert.equal(env(p).MOE_ROUTING_CONFIGMAP, 's-routing');
    assert.equal(p.spec!.serviceAccountName, 's-router');
    assert.equal(p.spec!.nodeSelector, undefined);
    const inFleet = routerPod(d, 0, { ...CTX, fleetSelector: { 'moe.io/process-runner': 'true' } }, 'r');
    assert.deepEqual(inFleet.spec!.nodeSelector, { 'moe.io/process-runner': 'true' }, 'routers stay in the topology\'s fleet');
  });
});

describe('revisions', () => {
  const base = makeDeployment('s').obj();
  const rev = (d = base) => roleRevision(d, roleShape(d, 'decode'), CTX);

  test('replica counts, EPLB and rollout settings do not change a revision (scaling is never a rollout)', () => {
    const d = makeDeployment('s')
      .decode({ replicas: 7 })
      .with((x) => {
        x.spec.eplb = { intervalSeconds: 5 };
        x.spec.rollout = { maxSurge: 3 };
      })
      .obj();
    assert.equal(rev(d), rev());
  });

  test('the template, the model and the role shape do', () => {
    const img = makeDeployment('s').with((x) => ((x.spec.template as any).spec.containers[0].image = 'moe-runtime:v2')).obj();
    assert.notEqual(rev(img), rev());
    assert.notEqual(roleRevision(base, roleShape(base, 'decode'), { ...CTX, modelUri: 'file:///other' }), rev());
    assert.notEqual(rev(makeDeployment('s').decode({ maxBatch: 8 }).obj()), rev());
    assert.equal(routerRevision(makeDeployment('s').decode({ maxBatch: 8 }).obj(), CTX), routerRevision(base, CTX), 'the router does not depend on a role');
  });
});

describe('other children', () => {
  const d = makeDeployment('s').obj();
  test('RBAC: the router gets its routing ConfigMap, leaders get placement and get/patch load, by name only', () => {
    const roles = serveRbac(d).filter((o) => o.kind === 'Role') as Array<{ metadata: { name: string }; rules: Array<{ resourceNames: string[]; verbs: string[] }> }>;
    assert.deepEqual(
      roles.map((r) => [r.metadata.name, r.rules.map((x) => `${x.verbs.join('+')}:${x.resourceNames.join(',')}`)]),
      [
        ['s-router', ['get:s-routing']],
        ['s-leader', ['get:s-placement', 'get+patch:s-expert-load']],
      ],
    );
  });

  test('headless Service for per-pod DNS, publishing not-ready pods (rendezvous happens before readiness)', () => {
    const s = headlessService(d);
    assert.equal(s.metadata.name, 's-pods');
    assert.equal(s.spec.clusterIP, 'None');
    assert.equal(s.spec.publishNotReadyAddresses, true);
  });

  test('InferenceRole records the propagated replicas', () => {
    const r = inferenceRole(d, 'decode', 2);
    assert.equal(r.metadata.name, 's-decode');
    assert.deepEqual(r.spec, { replicas: 2 });
    assert.equal(r.metadata.annotations['moe.io/propagated-replicas'], '2');
  });

  test('routes are sorted by replica and name the served model', () => {
    const doc = routesDocument(makeDeployment('s').with((x) => (x.spec.servedModelName = 'tiny')).obj(), { prefill: [], decode: [{ replica: 2, url: 'b' }, { replica: 0, url: 'a' }] });
    assert.deepEqual(doc, { model: 'tiny', prefill: [], decode: [{ replica: 0, url: 'a' }, { replica: 2, url: 'b' }] });
  });

  test('rollout bounds resolve percentages like a Deployment (surge rounds up, unavailable down)', () => {
    const d2 = makeDeployment('s').with((x) => (x.spec.rollout = { maxSurge: '25%', maxUnavailable: '25%' })).obj();
    assert.deepEqual(rolloutBounds(d2, 3), { maxSurge: 1, maxUnavailable: 0 });
    assert.deepEqual(rolloutBounds(d2, 8), { maxSurge: 2, maxUnavailable: 2 });
    const zero = makeDeployment('s').with((x) => (x.spec.rollout = { maxSurge: '10%', maxUnavailable: 0 })).obj();
    assert.deepEqual(rolloutBounds(zero, 0), { maxSurge: 0, maxUnavailable: 1 }, 'never both 0');
  });
});

// InferenceDeployment step tables against a real control plane (etcd, kube-apiserver, scheduler, controller-manager)
// and a KWOK GPU fleet of 8 nodes × 8 GPUs (1 spine, 2 leaves of 4 nodes). The operator (MoETrainingJob and
// InferenceDeployment controllers) runs in-process with the chart's least-privilege RBAC.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
let opKc: KubeConfig;
const NS = 'serve';

type Pod = {
  metadata: { name: string; uid: string; labels: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; nodeSelector?: Record<string, string>; schedulingGates?: unknown[]; containers: Array<{ env: Array<{ name: string; value?: string }> }> };
  status: { phase: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
};

/** A tiny deployment: prefill 1 replica × 1 pod × 8 GPUs, decode 2 replicas × 2 pods × 8 GPUs (EP 16, 16 redundant). */
function tinyDeployment(name: string, extra = ''): string {
  return `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model:
    checkpoint: {uri: file:///models/tiny}
    architecture: {preset: deepseek-v3-tiny}
  roles:
    prefill: {replicas: 1, podsPerReplica: 1, gpusPerPod: 8}
    decode: {replicas: 2, podsPerReplica: 2, gpusPerPod: 8, redundantExperts: 16}
  eplb: {intervalSeconds: 1, smoothing: 0.5}
  rollout: {maxSurge: 1, maxUnavailable: 0}
  template:
    spec:
      containers:
      - {name: server, image: moe-runtime:test, command: [moe-runtime]}
${extra}`;
}

const pods = async (dep: string, role?: string): Promise<Pod[]> =>
  (await json<{ items: Pod[] }>(c, ['-n', NS, 'get', 'pods', '-l', `moe.io/deployment-name=${dep}${role ? `,moe.io/role=${role}` : ''}`])).items.filter((p) => !p.metadata.deletionTimestamp);
const infd = async (name: string) => json(c, ['-n', NS, 'get', 'infd', name]);
const cond = (d: any, type: string) => d.status?.conditions?.find((x: any) => x.type === type);
const ready = (p: Pod) => p.status.phase === 'Running' && !!p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
const events = async (name: string, reason: string): Promise<string[]> =>
  (await json<{ items: Array<{ message: string }> }>(c, ['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items.map((e) => e.message);

/** Waits until the deployment is Available, nothing is progressing, and each role has `n` ready gangs. */
async function settled(name: string, want: { prefill: number; decode: number }) {
  return eventually(
    async () => {
      const d = await infd(name);
      const ok =
        cond(d, 'Available')?.status === 'True' &&
        cond(d, 'Progressing')?.status === 'False' &&
        d.status.roles.prefill.readyReplicas === want.prefill &&
        d.status.roles.decode.readyReplicas === want.decode &&
        d.status.observedGeneration === d.metadata.generation;
      return ok ? d : false;
    },
    { timeoutMs: 60_000, what: `${name} settled at ${JSON.stringify(want)}` },
  );
}

/** Gangs of a role from the live pods: replica → pods. */
function gangsOf(ps: Pod[]): Map<number, Pod[]> {
  const m = new Map<number, Pod[]>();
  for (const p of ps) {
    const r = Number(p.metadata.labels['moe.io/replica']);
    (m.get(r) ?? m.set(r, []).get(r)!).push(p);
  }
  return m;
}

/** Watches a deployment's pods and records, after every event, the gangs present and ready per role. */
async function watchGangs(dep: string, podsPerReplica: Record<string, number>) {
  const live = new Map<string, Pod>();
  const samples: Array<Record<string, { total: number; ready: number }>> = [];
  const bornGated: boolean[] = [];
  const w = await new Watch(c.kubeConfig()).watch(
    `/api/v1/namespaces/${NS}/pods`,
    { labelSelector: `moe.io/deployment-name=${dep}` },
    (type, p: Pod) => {
      if (type === 'ADDED' && p.metadata.labels['moe.io/role'] !== 'router') bornGated.push((p.spec.schedulingGates ?? []).length > 0);
      if (type === 'DELETED' || p.metadata.deletionTimestamp) live.delete(p.metadata.name);
      else live.set(p.metadata.name, p);
      const s: Record<string, { total: number; ready: number }> = {};
      for (const role of Object.keys(podsPerReplica)) {
        const g = gangsOf([...live.values()].filter((x) => x.metadata.labels['moe.io/role'] === role));
        s[role] = { total: g.size, ready: [...g.values()].filter((ps) => ps.length === podsPerReplica[role] && ps.every(ready)).length };
      }
      samples.push(s);
    },
    () => undefined,
  );
  return { samples, bornGated, stop: () => w.abort() };
}

const can = (verb: string, what: string, sa: string) =>
  c.kubectl(['auth', 'can-i', verb, what, '-n', NS, `--as=system:serviceaccount:${NS}:${sa}`]).then(
    () => true,
    () => false,
  );

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  opKc = await chartRbacKubeConfig(c);
  op = await startOperator(opKc, { infd: true, resyncMs: 1000 });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

describe('InferenceDeployment on a real API server', () => {
  test('create → every replica a gang placed inside one leaf, released together; routers, Services, routes; Available', async () => {
    const leafOf = new Map<string, string>();
    for (const n of (await json<{ items: Array<{ metadata: { name: string; labels: Record<string, string> } }> }>(c, ['get', 'nodes'])).items) leafOf.set(n.metadata.name, n.metadata.labels['moe.io/leaf']!);
    const w = await watchGangs('s', { prefill: 1, decode: 2 });
    await applyYaml(c, tinyDeployment('s'));
    const d = await settled('s', { prefill: 1, decode: 2 });
    w.stop();
    assert.equal(w.bornGated.length, 5);
    assert.ok(w.bornGated.every(Boolean), 'every role pod is created behind the gang gate');
    const decode = gangsOf(await pods('s', 'decode'));
    assert.deepEqual([...decode.keys()].sort(), [0, 1]);
    for (const [r, ps] of decode) {
      assert.equal(ps.length, 2);
      const leaves = new Set(ps.map((p) => leafOf.get(p.spec.nodeName!)));
      assert.equal(leaves.size, 1, `decode replica ${r} inside one leaf: ${ps.map((p) => p.spec.nodeName).join(', ')}`);
      for (const p of ps) assert.deepEqual(p.spec.nodeSelector, { 'kubernetes.io/hostname': p.spec.nodeName }, 'placed by a hostname node selector');
      assert.equal(ps[0]!.spec.schedulingGates, undefined, 'gate removed');
    }
    const routes = JSON.parse((await json(c, ['-n', NS, 'get', 'configmap', 's-routing'])).data.routes);
    const leaders = (await pods('s')).filter((p) => p.metadata.labels['moe.io/pod-index'] === '0' && p.metadata.labels['moe.io/role'] !== 'router');
    const url = (role: string, r: number) => `http://${leaders.find((p) => p.metadata.labels['moe.io/role'] === role && p.metadata.labels['moe.io/replica'] === String(r))!.status.podIP}:8000`;
    assert.deepEqual(routes, { model: 's', prefill: [{ replica: 0, url: url('prefill', 0) }], decode: [{ replica: 0, url: url('decode', 0) }, { replica: 1, url: url('decode', 1) }] });
    assert.deepEqual(d.status.roles.decode.endpoints, [url('decode', 0), url('decode', 1)]);
    assert.equal(d.status.router.url, 'http://s.serve.svc:8000');
    assert.equal(d.status.phase, 'Available');
    assert.equal((await json(c, ['-n', NS, 'get', 'service', 's'])).spec.selector['moe.io/role'], 'router');
    assert.equal((await json(c, ['-n', NS, 'get', 'service', 's-pods'])).spec.clusterIP, 'None');
    const role = await json(c, ['-n', NS, 'get', 'infrole', 's-decode']);
    assert.equal(role.status.selector, 'moe.io/deployment-name=s,moe.io/role=decode');
    assert.equal(role.metadata.ownerReferences[0].name, 's');
    assert.equal((await events('s', 'GangReleased')).length, 3);
  });

  test('least privilege: routers read the routing ConfigMap, leaders the placement and their load; no one else', async () => {
    assert.equal(await can('get', 'configmaps/s-routing', 's-router'), true);
    assert.equal(await can('get', 'configmaps/s-placement', 's-router'), false);
    assert.equal(await can('get', 'configmaps/s-placement', 's-leader'), true);
    assert.equal(await can('patch', 'configmaps/s-expert-load', 's-leader'), true);
    assert.equal(await can('patch', 'configmaps/s-placement', 's-leader'), false);
    assert.equal(await can('list', 'configmaps', 's-leader'), false);
    assert.equal(await can('patch', 'pods', 's-leader'), false);
    const p = await json(c, ['-n', NS, 'get', 'pod', 's-decode-0-1']);
    assert.equal(p.spec.automountServiceAccountToken, false, 'a non-leader pod has no token');
  });

  test('kubectl scale / the scale subresource add and remove whole gangs, never a rollout', async () => {
    const before = new Map((await pods('s', 'decode')).map((p) => [p.metadata.name, p.metadata.uid]));
    await c.kubectl(['-n', NS, 'scale', 'infrole', 's-decode', '--replicas=3']);
    await settled('s', { prefill: 1, decode: 3 });
    const three = await pods('s', 'decode');
    assert.equal(three.length, 6);
    for (const [n, uid] of before) assert.equal(three.find((p) => p.metadata.name === n)?.metadata.uid, uid, `${n} untouched`);
    assert.equal(new Set(three.map((p) => p.metadata.labels['moe.io/revision'])).size, 1, 'one revision: no rollout');
    const scale = await json(c, ['-n', NS, 'get', 'infrole', 's-decode', '--subresource=scale']);
    assert.equal(scale.status.selector, 'moe.io/deployment-name=s,moe.io/role=decode');

    await c.kubectl(['-n', NS, 'patch', 'infrole', 's-decode', '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":1}}']);
    await settled('s', { prefill: 1, decode: 1 });
    const one = await pods('s', 'decode');
    assert.deepEqual(one.map((p) => p.metadata.name).sort(), ['s-decode-0-0', 's-decode-0-1'], 'highest indexes removed first');
    assert.equal(one.find((p) => p.metadata.name === 's-decode-0-0')!.metadata.uid, before.get('s-decode-0-0'));
    assert.ok((await events('s', 'ScaledDown')).length >= 2);
    assert.equal((await events('s', 'RolloutStep')).length, 0);
  });

  test('a GitOps change of spec.roles.decode.replicas is propagated once; the autoscaler\'s value is not reverted', async () => {
    // The InferenceRole is at 1 (scaled above); the deployment still says 2, as last propagated: nothing to copy.
    await new Promise((r) => setTimeout(r, 2000)); // two resyncs
    assert.equal((await json(c, ['-n', NS, 'get', 'infrole', 's-decode'])).spec.replicas, 1, 'an unchanged spec does not undo kubectl scale');
    await c.kubectl(['-n', NS, 'patch', 'infd', 's', '--type=merge', '-p', '{"spec":{"roles":{"decode":{"replicas":3}}}}']);
    await settled('s', { prefill: 1, decode: 3 });
    const role = await json(c, ['-n', NS, 'get', 'infrole', 's-decode']);
    assert.equal(role.spec.replicas, 3);
    assert.equal(role.metadata.annotations['moe.io/propagated-replicas'], '3');
    assert.ok((await events('s', 'ReplicasPropagated')).some((m) => m.includes('(was 1)')));
    await c.kubectl(['-n', NS, 'scale', 'infrole', 's-decode', '--replicas=2']);
    await settled('s', { prefill: 1, decode: 2 });
    await new Promise((r) => setTimeout(r, 3000)); // three resyncs of the operator
    assert.equal((await json(c, ['-n', NS, 'get', 'infrole', 's-decode'])).spec.replicas, 2, 'the autoscaler\'s value is kept');
    assert.equal((await infd('s')).status.roles.decode.readyReplicas, 2);
  });

  test('a HorizontalPodAutoscaler drives the InferenceRole through the scale subresource', async () => {
    // No metrics server here: the HPA controller still enforces minReplicas through /scale, which is what we need.
    await applyYaml(
      c,
      `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: s-decode, namespace: ${NS}}
spec:
  scaleTargetRef: {apiVersion: moe.io/v1alpha1, kind: InferenceRole, name: s-decode}
  minReplicas: 3
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
`,
    );
    try {
      await eventually(async () => ((await json(c, ['-n', NS, 'get', 'infrole', 's-decode'])).spec.replicas === 3 ? true : false), { timeoutMs: 90_000, what: 'the HPA scaled s-decode to 3' });
      await settled('s', { prefill: 1, decode: 3 });
      const able = await eventually(async () => (await json(c, ['-n', NS, 'get', 'hpa', 's-decode'])).status?.conditions?.find((x: any) => x.type === 'AbleToScale') ?? false, { what: 'HPA AbleToScale' });
      assert.equal(able.status, 'True', `the HPA reads and writes the InferenceRole's scale: ${able.message}`);
    } finally {
      await c.kubectl(['-n', NS, 'delete', 'hpa', 's-decode']);
      await c.kubectl(['-n', NS, 'scale', 'infrole', 's-decode', '--replicas=2']);
    }
    await settled('s', { prefill: 1, decode: 2 });
  });

  test('a template change rolls one gang at a time within maxSurge 1 / maxUnavailable 0, prefill and decode in step', async () => {
    const oldRev = (await infd('s')).status.roles.decode.revision;
    const w = await watchGangs('s', { prefill: 1, decode: 2 });
    await new Promise((r) => setTimeout(r, 300)); // the watch's initial ADDED events
    const start = w.samples.length;
    await c.kubectl(['-n', NS, 'patch', 'infd', 's', '--type=merge', '-p', '{"spec":{"template":{"metadata":{"labels":{"version":"2"}}}}}']);
    const d = await eventually(
      async () => {
        const x = await settled('s', { prefill: 1, decode: 2 });
        const ps = await pods('s');
        return x.status.roles.decode.revision !== oldRev && ps.every((p) => p.metadata.labels.version === '2') && ps.length === 6 ? x : false;
      },
      { timeoutMs: 90_000, what: 'rollout finished' },
    );
    await new Promise((r) => setTimeout(r, 300));
    w.stop();
    const during = w.samples.slice(start);
    const maxTotal = { prefill: Math.max(...during.map((s) => s.prefill!.total)), decode: Math.max(...during.map((s) => s.decode!.total)) };
    const minReady = { prefill: Math.min(...during.map((s) => s.prefill!.ready)), decode: Math.min(...during.map((s) => s.decode!.ready)) };
    console.log(`rollout observed over ${during.length} pod events: max gangs ${JSON.stringify(maxTotal)}, min ready gangs ${JSON.stringify(minReady)}`);
    assert.deepEqual(maxTotal, { prefill: 2, decode: 3 }, 'surge of exactly one gang per role');
    assert.deepEqual(minReady, { prefill: 1, decode: 2 }, 'never below the desired ready count');
    assert.equal(d.status.roles.decode.updatedReplicas, 2);
    const steps = await events('s', 'RolloutStep');
    assert.ok(steps.filter((m) => m.startsWith('decode: started')).length >= 2 && steps.filter((m) => m.startsWith('decode: deleted')).length >= 2, steps.join('\n'));
  });

  test('a pod of a ready replica is deleted → Degraded, the replica restarts as a unit under its index, recovers', async () => {
    const victim = (await pods('s', 'decode')).find((p) => p.metadata.labels['moe.io/pod-index'] === '1')!;
    const replica = victim.metadata.labels['moe.io/replica']!;
    const gangBefore = (await pods('s', 'decode')).filter((p) => p.metadata.labels['moe.io/replica'] === replica);
    const t0 = new Date(Date.now() - 1000);
    await c.kubectl(['-n', NS, 'delete', 'pod', victim.metadata.name, '--wait=false']);
    await eventually(async () => (await events('s', 'ReplicaRestarted')).some((m) => m.includes(victim.metadata.name)) || false, { what: 'ReplicaRestarted event' });
    const d = await settled('s', { prefill: 1, decode: 2 });
    const gangAfter = (await pods('s', 'decode')).filter((p) => p.metadata.labels['moe.io/replica'] === replica);
    assert.equal(gangAfter.length, 2, `replica ${replica} is back under its own index`);
    for (const p of gangBefore) assert.notEqual(gangAfter.find((x) => x.metadata.name === p.metadata.name)?.metadata.uid, p.metadata.uid, `${p.metadata.name} replaced too: the gang restarts as a unit`);
    const degraded = cond(d, 'Degraded');
    assert.equal(degraded.status, 'False');
    assert.ok(new Date(degraded.lastTransitionTime) >= t0, 'Degraded went True and back since the deletion');
  });

  test('operator restarted → it adopts the running gangs: no pod replaced, still Available', async () => {
    const before = (await pods('s')).map((p) => p.metadata.uid).sort();
    await op.stop();
    op = await startOperator(opKc, { infd: true, resyncMs: 1000 });
    await new Promise((r) => setTimeout(r, 3000)); // time for the new operator to act if it (wrongly) would
    assert.deepEqual((await pods('s')).map((p) => p.metadata.uid).sort(), before);
    assert.equal((await infd('s')).status.phase, 'Available');
  });

  test('skewed expert load → a new placement version with balanceAfter < balanceBefore and a Rebalanced event', async () => {
    const leaders = (await pods('s', 'decode')).filter((p) => p.metadata.labels['moe.io/pod-index'] === '0');
    // 3 MoE layers × 16 experts (deepseek-v3-tiny); experts 0-3 are hot.
    const counts = (hot: (e: number) => boolean, scale: number) => Array.from({ length: 3 }, () => Array.from({ length: 16 }, (_, e) => (hot(e) ? 1000 : 10) * scale));
    const report = (hot: (e: number) => boolean, scale: number, startedAt = '2026-01-01T00:00:00Z') => ({
      data: Object.fromEntries(leaders.map((p) => [p.metadata.name, JSON.stringify({ role: 'decode', replica: Number(p.metadata.labels['moe.io/replica']), startedAt, counts: counts(hot, scale) })])),
    });
    const patch = (body: unknown) => c.kubectl(['-n', NS, 'patch', 'configmap', 's-expert-load', '--type=merge', '-p', JSON.stringify(body), `--as=system:serviceaccount:${NS}:s-leader`]);
    const placement = async () => {
      const cm = await json(c, ['-n', NS, 'get', 'configmap', 's-placement']);
      return cm.data?.decode ? JSON.parse(cm.data.decode) : undefined;
    };
    await patch(report((e) => e < 4, 1));
    const p1 = await eventually(placement, { what: 'decode placement published' });
    assert.equal(p1.version, 1);
    assert.equal(p1.gpus, 16);
    assert.equal(p1.slotsPerGpu, 2);
    assert.equal(p1.phy2log.length, 3);
    assert.equal(p1.phy2log[0].length, 32);
    assert.ok(p1.balance.after < p1.balance.before, JSON.stringify(p1.balance));
    assert.ok(p1.logcnt[0].slice(0, 4).every((n: number) => n > 1), `hot experts replicated: ${p1.logcnt[0]}`);
    const st = await eventually(async () => (await infd('s')).status.roles.decode.placement ?? false, { what: 'placement in status' });
    assert.deepEqual([st.version, st.balanceBefore, st.balanceAfter], [1, p1.balance.before, p1.balance.after]);
    assert.ok((await events('s', 'Rebalanced')).some((m) => m.startsWith('decode: expert placement v1')));

    // The same skew keeps coming (cumulative counts double): the placement is already good, no new version.
    await patch(report((e) => e < 4, 2));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await placement()).version, 1);

    // The load moves to experts 12-15 (pods restarted: new startedAt): a new version once the smoothed load shifts.
    await patch(report((e) => e >= 12, 20, '2026-01-01T01:00:00Z'));
    const p2 = await eventually(async () => ((await placement())?.version === 2 ? placement() : false), { what: 'placement v2' });
    assert.ok(p2.balance.after < p2.balance.before, JSON.stringify(p2.balance));
    assert.ok(p2.logcnt[0].slice(12).every((n: number) => n > 1), `newly hot experts replicated: ${p2.logcnt[0]}`);
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 's-placement']);
    assert.ok(JSON.parse(cm.data['eplb-state']).smoothed.decode.length === 3, 'smoothed loads kept for an operator restart');
  });

  test('delete → pods, ConfigMaps, Services, RBAC and InferenceRoles are garbage-collected', async () => {
    await c.kubectl(['-n', NS, 'delete', 'infd', 's', '--wait=true', '--timeout=60s']);
    await eventually(
      async () => ((await c.kubectl(['-n', NS, 'get', 'pods,configmaps,services,serviceaccounts,roles,rolebindings,inferenceroles', '-l', 'moe.io/deployment-name=s', '-o', 'name'])).trim() === '' ? true : false),
      { timeoutMs: 60_000, what: 'no children of s left' },
    );
  });

  test('model from a MoETrainingJob: waits until it succeeds, then serves its export', async () => {
    await applyYaml(c, tinyJob('tj', NS));
    await applyYaml(c, tinyDeployment('fromjob').replace('    checkpoint: {uri: file:///models/tiny}\n    architecture: {preset: deepseek-v3-tiny}', '    trainingJob: {name: tj}').replace('replicas: 1, podsPerReplica: 1', 'replicas: 0, podsPerReplica: 1'));
    const waiting = await eventually(async () => {
      const d = await infd('fromjob');
      return cond(d, 'ModelReady')?.reason === 'WaitingForTrainingJob' ? d : false;
    }, { what: 'waiting for the training job' });
    assert.equal(waiting.status.phase, 'WaitingForModel');
    assert.match(cond(waiting, 'ModelReady').message, /waiting for MoETrainingJob\/tj to succeed/);
    assert.equal((await pods('fromjob')).length, 0);
    await eventually(async () => (await json(c, ['-n', NS, 'get', 'mtj', 'tj'])).status?.phase === 'Running' || false, { timeoutMs: 60_000, what: 'tj Running' });
    await c.kubectl(['-n', NS, 'patch', 'pod', 'tj-0', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
    const d = await settled('fromjob', { prefill: 0, decode: 2 });
    assert.deepEqual(d.status.model, { uri: 'file:///checkpoints/serve/tj/export', resolvedFrom: 'MoETrainingJob/tj' });
    const p = (await pods('fromjob', 'decode'))[0]!;
    assert.equal(p.spec.containers[0]!.env.find((e) => e.name === 'MOE_MODEL_PATH')?.value, '/checkpoints/serve/tj/export');
    const routes = JSON.parse((await json(c, ['-n', NS, 'get', 'configmap', 'fromjob-routing'])).data.routes);
    assert.deepEqual(routes.prefill, [], 'no prefill replicas: decode prefills locally');
    assert.equal(routes.decode.length, 2);
  });

  test('a spec the schema cannot judge is marked Invalid with the field and the fix', async () => {
    await applyYaml(c, tinyDeployment('bad').replace('redundantExperts: 16', 'redundantExperts: 3'));
    const d = await eventually(async () => {
      const x = await infd('bad');
      return x.status?.phase === 'Invalid' ? x : false;
    }, { what: 'Invalid' });
    assert.match(cond(d, 'Valid').message, /spec.roles.decode.redundantExperts: 16 routed experts \+ 3 redundant = 19 slots/);
    assert.equal((await pods('bad')).length, 0);
  });

  test('the schema rejects bad specs with CEL messages', async () => {
    const both = tinyDeployment('x1').replace('    architecture:', '    trainingJob: {name: tj}\n    architecture:');
    await assert.rejects(applyYaml(c, both), /set exactly one of model.checkpoint or model.trainingJob/);
    const ep = tinyDeployment('x2').replace('redundantExperts: 16', 'redundantExperts: 16, parallelism: {expert: 8}');
    await assert.rejects(applyYaml(c, ep), /parallelism.expert must equal podsPerReplica x gpusPerPod/);
    const zero = tinyDeployment('x3').replace('maxSurge: 1, maxUnavailable: 0', 'maxSurge: 0, maxUnavailable: "0%"');
    await assert.rejects(applyYaml(c, zero), /rollout.maxSurge and rollout.maxUnavailable must not both be 0/);
    const pct = tinyDeployment('x4').replace('maxSurge: 1,', 'maxSurge: "lots",');
    await assert.rejects(applyYaml(c, pct), /rollout.maxSurge must be a non-negative integer or a percentage/);
    const uri = tinyDeployment('x5').replace('file:///models/tiny', 'models/tiny');
    await assert.rejects(applyYaml(c, uri), /must be an absolute file:\/\/ URI/);
    await assert.rejects(c.kubectl(['-n', NS, 'scale', 'infrole', 'fromjob-decode', '--replicas=-1']), /replicas/);
  });
});

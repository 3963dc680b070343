// Gang start without the gate (operator/controllers/mtj/gang-start.ts) against a real control plane (API server,
// scheduler, controller-manager) and a KWOK fleet of 3 nodes × 8 GPUs: a job outside Kueue whose room is verified is
// created ungated, one write per pod; when another tenant holds the room (pods the operator does not watch, bound
// straight to their nodes), the gang that cannot bind whole is torn down after the bind deadline instead of running
// half, and the retry goes gated and starts once the room is free. The gated path under a queue label: mtj.test.ts
// (first test); under real Kueue: test/integration/kueue/kueue.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Watch } from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from './harness.js';

const NS = 'gs';
const BIND_DEADLINE_MS = 4000;
let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;

type Pod = { metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string }; spec: { nodeName?: string; nodeSelector?: Record<string, string>; schedulingGates?: Array<{ name: string }> }; status: { phase?: string } };
type Seen = { type: string; name: string; attempt: string; gates: string[]; node?: string };

/** tinyJob (2 pods × 8 GPUs) without its queue label: not under Kueue. */
const unqueuedJob = (name: string, ns = NS) => tinyJob(name, ns).replace(', labels: {kueue.x-k8s.io/queue-name: q1}', '');
const pods = async (job: string, ns = NS): Promise<Pod[]> => (await json<{ items: Pod[] }>(c, ['-n', ns, 'get', 'pods', '-l', `moe.io/job-name=${job}`])).items;
const job = async (name: string, ns = NS) => json(c, ['-n', ns, 'get', 'mtj', name]);

/** Every event of the job's pods, from before the job exists. */
async function watchPods(name: string, ns = NS): Promise<{ seen: Seen[]; stop: () => void }> {
  const seen: Seen[] = [];
  const w = await new Watch(c.kubeConfig()).watch(`/api/v1/namespaces/${ns}/pods`, { labelSelector: `moe.io/job-name=${name}` }, (type, p: Pod) => {
    seen.push({ type, name: p.metadata.name, attempt: p.metadata.labels['moe.io/attempt'] ?? '', gates: (p.spec.schedulingGates ?? []).map((g) => g.name), ...(p.spec.nodeName ? { node: p.spec.nodeName } : {}) });
  }, () => undefined);
  return { seen, stop: () => w.abort() };
}

/** A pod of another tenant holding all 8 GPUs of `node`: bound by nodeName, no operator label (the operator does not see it). */
const tenantPod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}}
spec:
  nodeName: ${node}
  tolerations: [{key: nvidia.com/gpu, operator: Exists}]
  containers:
  - name: c
    image: other:1
    resources: {requests: {nvidia.com/gpu: "8"}, limits: {nvidia.com/gpu: "8"}}
`;

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 3, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  op = await startOperator(await chartRbacKubeConfig(c), { bindDeadlineMs: BIND_DEADLINE_MS });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

test('room verified, no queue: every pod is created ungated (one write each) on the planned node and the job runs', async () => {
  const w = await watchPods('fast');
  await applyYaml(c, unqueuedJob('fast'));
  const j = await eventually(async () => {
    const x = await job('fast');
    return x.status?.phase === 'Running' ? x : false;
  }, { timeoutMs: 60_000, what: 'fast Running' });
  w.stop();
  const added = w.seen.filter((e) => e.type === 'ADDED');
  assert.equal(added.length, 2);
  assert.deepEqual(w.seen.filter((e) => e.gates.length), [], 'no event shows a gate: no pod was born gated, none had a gate removed');
  const plan = JSON.parse((await json(c, ['-n', NS, 'get', 'configmap', 'fast-plan'])).data['plan.json']).plan;
  for (const p of await pods('fast')) {
    assert.equal(p.spec.nodeName, plan.placement[Number(p.metadata.labels['moe.io/pod-index'])].node, `${p.metadata.name} on its planned node`);
    assert.equal(p.status.phase, 'Running');
  }
  const released = j.status.conditions.find((x: any) => x.type === 'GangReleased');
  assert.equal(released.status, 'True');
  assert.match(released.message, /ungated: room verified/);
  assert.equal(j.status.attempt, 0);
  await c.kubectl(['-n', NS, 'delete', 'mtj', 'fast', '--wait=true', '--timeout=60s']);
  await eventually(async () => (await pods('fast')).length === 0 || false, { what: 'fast pods gone' });
});

test('room taken by another tenant between plan and bind: the half-bound gang is torn down, retried gated, and starts once the room is free', async () => {
  // Two of the three nodes are full; whichever two nodes the plan picks, at least one pod cannot bind.
  const nodes = (await json<{ items: Array<{ metadata: { name: string } }> }>(c, ['get', 'nodes'])).items.map((n) => n.metadata.name).sort();
  assert.equal(nodes.length, 3);
  await applyYaml(c, tenantPod('tenant-1', nodes[1]!));
  await applyYaml(c, tenantPod('tenant-2', nodes[2]!));
  await eventually(async () => (await json<{ items: Pod[] }>(c, ['-n', NS, 'get', 'pods', 'tenant-1', 'tenant-2'])).items.every((p) => p.status.phase === 'Running') || false, { what: 'tenant pods Running' });
  const w = await watchPods('contend');
  await applyYaml(c, unqueuedJob('contend'));

  // The first attempt went out ungated; after the deadline it is torn down, not left half-running, and the restart
  // is not counted.
  let last: unknown;
  const torn = await eventually(async () => {
    const x = await job('contend');
    last = { status: x.status, pods: (await pods('contend')).map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, gates: p.spec.schedulingGates, status: p.status.phase })) };
    return x.status?.lastFailure?.reason === 'GangBindTimeout' ? x : false;
  }, { timeoutMs: 60_000, what: 'GangBindTimeout' }).catch((e: Error) => {
    throw new Error(`${e.message}; last: ${JSON.stringify(last)}`);
  });
  assert.ok(torn.status.attempt >= 1);
  assert.equal(torn.status.restarts, 0, 'a bind timeout spends no restart budget');
  const first = w.seen.filter((e) => e.type === 'ADDED' && e.attempt === '0');
  assert.equal(first.length, 2);
  assert.ok(first.every((e) => e.gates.length === 0), `attempt 0 born ungated: ${JSON.stringify(first)}`);
  assert.ok(w.seen.some((e) => e.attempt === '0' && e.node), 'part of attempt 0 did bind (the partial gang the watchdog must end)');
  await eventually(async () => (await pods('contend')).every((p) => p.metadata.labels['moe.io/attempt'] !== '0') || false, { timeoutMs: 30_000, what: 'no pod of attempt 0 left' });

  // The retry is gated; its gates come off only once both its pods exist, and it binds once the room is free.
  await eventually(async () => w.seen.some((e) => e.type === 'ADDED' && e.attempt === '1') || false, { timeoutMs: 30_000, what: 'attempt 1 pods' });
  await c.kubectl(['-n', NS, 'delete', 'pod', 'tenant-2', '--grace-period=0', '--force', '--wait=true']);
  const j = await eventually(async () => {
    const x = await job('contend');
    return x.status?.phase === 'Running' ? x : false;
  }, { timeoutMs: 120_000, what: 'contend Running after the room was freed' });
  w.stop();
  const retries = w.seen.filter((e) => e.type === 'ADDED' && Number(e.attempt) >= 1);
  assert.ok(retries.length >= 2 && retries.every((e) => e.gates.includes('moe.io/gang')), `retries born gated: ${JSON.stringify(retries)}`);
  const live = (await pods('contend')).filter((p) => !p.metadata.deletionTimestamp);
  assert.equal(live.length, 2);
  assert.ok(live.every((p) => p.metadata.labels['moe.io/attempt'] === String(j.status.attempt) && p.status.phase === 'Running' && !p.spec.schedulingGates), JSON.stringify(live));
  assert.ok(live.every((p) => p.spec.nodeName !== nodes[1]), 'nothing placed on the node the tenant still holds');
  assert.equal(j.status.restarts, 0);
  assert.match(j.status.conditions.find((x: any) => x.type === 'GangReleased').message, /gated: the previous gang did not all bind/);
  await c.kubectl(['-n', NS, 'delete', 'mtj', 'contend', '--wait=true', '--timeout=60s']);
  await c.kubectl(['-n', NS, 'delete', 'pod', 'tenant-1', '--grace-period=0', '--force', '--wait=true']);
});

test('a create refused half-way (a ResourceQuota of one pod): the ungated pod that got through is deleted, and the retry holds its pod behind the gate', async () => {
  const ns = 'quota';
  await c.kubectl(['create', 'namespace', ns]);
  await applyYaml(c, `apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: one-pod, namespace: ${ns}}\nspec: {hard: {pods: "1"}}\n`);
  const w = await watchPods('q', ns);
  await applyYaml(c, unqueuedJob('q', ns));
  const j = await eventually(async () => {
    const x = await job('q', ns);
    return x.status?.conditions?.some((k: any) => k.type === 'WriteFailed' && k.status === 'True') ? x : false;
  }, { timeoutMs: 60_000, what: 'WriteFailed' });
  assert.match(j.status.conditions.find((k: any) => k.type === 'WriteFailed').message, /exceeded quota/);
  assert.equal(j.status.phase, 'Pending');
  // The retry (after the write backoff) is gated: its one admitted pod exists, gated and unbound, and stays so.
  await eventually(async () => w.seen.some((e) => e.type === 'ADDED' && e.gates.includes('moe.io/gang')) || false, { timeoutMs: 60_000, what: 'a gated retry' });
  const left = (await pods('q', ns)).filter((p) => !p.metadata.deletionTimestamp);
  w.stop();
  assert.equal(left.length, 1);
  assert.deepEqual(left[0]!.spec.schedulingGates, [{ name: 'moe.io/gang' }]);
  assert.equal(left[0]!.spec.nodeName, undefined);
  // Every pod that went out ungated was deleted again.
  const ungated = new Set(w.seen.filter((e) => e.type === 'ADDED' && !e.gates.length).map((e) => e.name));
  assert.ok(ungated.size >= 1, 'the first try was ungated');
  const deleted = new Set(w.seen.filter((e) => e.type === 'DELETED').map((e) => e.name));
  assert.ok([...ungated].every((n) => deleted.has(n)), JSON.stringify(w.seen));
});

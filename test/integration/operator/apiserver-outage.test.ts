// Issue 19 item 9: a short API-server outage must not restart healthy gangs or invent missing objects. Before the fix
// the informer swapped in an empty cache after a watch error and kept it empty until its relist returned, so a
// reconcile could see a job without its pods, nodes or topology (PodMissing, NodeLost, TopologyNotFound, "fleet has 0
// usable"). Here the real kube-apiserver is killed and restarted three times. After a restart the API server serves
// built-in resources before custom ones and each informer relists on its own backoff, so for seconds the job cache is
// back while the ClusterTopology cache is not: with the old informer a waiting job then reported TopologyNotFound (2 of
// 3 outages in a run). A running gang must keep its pods, attempt and restart count; the waiting job its reason.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, installCrds, json, startOperator, tinyJob } from './harness.js';
import { apiServerOutage } from './outage.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
const NS = 'outage';

/** 64 GPUs on a 32-GPU fleet: Unschedulable, reconciled (and re-planned) on every resync. */
const waiting = `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: waiting, namespace: ${NS}}
spec:
  model: {preset: deepseek-v3-tiny}
  parallelism:
    pipeline: {stages: 2, schedule: DualPipe, microBatches: 4}
    expert: 8
    data: 4
    gpusPerPod: 8
  training: {globalBatchSize: 128}
  template:
    spec:
      containers:
      - {name: trainer, image: moe-runtime:test}
`;

type Pod = { metadata: { name: string; uid: string; labels: Record<string, string>; deletionTimestamp?: string }; status: { phase: string } };
type Event = { type: string; reason: string; message: string };
const podsOf = async (job: string) => (await json<{ items: Pod[] }>(c, ['-n', NS, 'get', 'pods', '-l', `moe.io/job-name=${job}`])).items;
const eventsOf = async (name: string) => (await json<{ items: Event[] }>(c, ['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${name}`])).items;

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  // A short resync: every job is reconciled several times while caches relist after each outage.
  op = await startOperator(c.kubeConfig(), { namespace: NS, resyncMs: 1000 });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

test('three API-server outages of 3 s: the running gang keeps its pods and attempt, the waiting job its reason', async () => {
  await applyYaml(c, tinyJob('steady', NS));
  await applyYaml(c, waiting);
  const before = await eventually(
    async () => {
      const ps = await podsOf('steady');
      return ps.length === 2 && ps.every((p) => p.status.phase === 'Running') ? ps : false;
    },
    { timeoutMs: 60_000, what: 'the gang Running' },
  );
  await eventually(async () => (await json(c, ['-n', NS, 'get', 'mtj', 'steady'])).status?.phase === 'Running', { timeoutMs: 30_000, what: 'job Running' });
  await eventually(async () => (await json(c, ['-n', NS, 'get', 'mtj', 'waiting'])).status?.phase === 'Unschedulable', { timeoutMs: 30_000, what: 'waiting job Unschedulable' });
  const uids = before.map((p) => p.metadata.uid).sort();
  const waitingWhy = new Set((await eventsOf('waiting')).filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`));

  for (let i = 0; i < 3; i++) {
    const lists = op.mtj.informers.map((inf) => inf.lists);
    await apiServerOutage(c, 3000);
    // Every cache has relisted (the window the old informer served empty), then a few resyncs have run.
    await eventually(() => op.mtj.informers.every((inf, k) => inf.lists > lists[k]!), { timeoutMs: 90_000, what: `every informer relisted after outage ${i + 1}` });
    await new Promise((r) => setTimeout(r, 3000));
  }

  const j = await json(c, ['-n', NS, 'get', 'mtj', 'steady']);
  const after = (await podsOf('steady')).filter((p) => !p.metadata.deletionTimestamp);
  const failures = (await eventsOf('steady')).filter((e) => /PodMissing|NodeLost|TopologyNotFound|usable|restart/i.test(`${e.reason} ${e.message}`));
  assert.deepEqual(failures, [], 'no failure concluded from a cache mid-relist');
  assert.equal(j.status.phase, 'Running');
  assert.equal(j.status.restarts ?? 0, 0);
  assert.equal(j.status.attempt ?? 0, 0);
  assert.equal(j.status.excludedNodes, undefined, 'no healthy node excluded');
  assert.deepEqual(after.map((p) => p.metadata.uid).sort(), uids, 'the same pods, never replaced');
  const newWhy = (await eventsOf('waiting')).filter((e) => e.type === 'Warning' && !waitingWhy.has(`${e.reason}: ${e.message}`));
  assert.deepEqual(newWhy, [], 'the waiting job reports nothing new (no TopologyNotFound, no "fleet has 0 usable")');
  assert.equal((await json(c, ['-n', NS, 'get', 'mtj', 'waiting'])).status.phase, 'Unschedulable');
});

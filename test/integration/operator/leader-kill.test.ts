// The operator SIGKILLed while it creates and releases a gang (issue 16 §3), as a pod's container: operator/main.ts
// as a real process with the chart's POD_NAME/POD_UID, restarted like the kubelet restarts it. Each kill must leave
// the gang whole (every pod index exactly once, all controlled by the job, none gated, one attempt) and Running, and
// the restarted process must take its predecessor's lease at once, not after the lease duration.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { FIELD_MANAGER, SCHEDULING_GATE } from '../../../operator/api/constants.js';
import { KubeClient, resourcePath } from '../../../operator/kube/rest.js';
import { ROOT, installCrds } from './harness.js';
import { OperatorPod, gangProblems } from './operator-pod.js';

const PODS = 32; // PP 4 × EP 16 × DP 4 = 256 GPUs
let c: LocalCluster;
let client: KubeClient;
let op: OperatorPod;

type Lease = { spec: { holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number } };
const lease = () => client.get<Lease>(resourcePath('coordination.k8s.io/v1', 'Lease', 'default', 'moe-operator'));

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 16, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await c.kubectl(['apply', '-f', join(ROOT, 'examples', 'cluster-topology.yaml')]);
  await c.kubectl(['create', 'namespace', 'kill']);
  const kc = c.kubeConfig();
  client = new KubeClient(kc, FIELD_MANAGER);
  await client.request('PATCH', resourcePath('moe.io/v1alpha1', 'ClusterTopology', undefined, 'h800-ib'), { body: { spec: { rails: 0 } }, contentType: 'application/merge-patch+json' });
  op = new OperatorPod(c, kc);
  await op.start();
  await eventually(async () => (await lease()).spec.holderIdentity || false, { timeoutMs: 60_000, what: 'a leader' });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

const job = (name: string) => ({
  apiVersion: 'moe.io/v1alpha1',
  kind: 'MoETrainingJob',
  metadata: { name, namespace: 'kill' },
  spec: {
    model: { preset: 'deepseek-v3-671b' },
    topologyRef: { name: 'h800-ib' },
    parallelism: { pipeline: { stages: 4, schedule: 'DualPipe', microBatches: 8 }, expert: 16, data: 4, gpusPerPod: 8 },
    training: { globalBatchSize: 512, sequenceLength: 4096 },
    template: { spec: { containers: [{ name: 'trainer', image: 'moe-runtime:test' }] } },
  },
});

type Pod = { spec: { schedulingGates?: Array<{ name: string }> }; status?: { phase?: string } };
const pods = async (name: string) => (await client.list<Pod>(resourcePath('v1', 'Pod', 'kill'), { labelSelector: `moe.io/job-name=${name}` })).items;

/** Creates the job, SIGKILLs the operator once `when(pods)` holds, and checks the gang and the takeover. */
async function killDuring(name: string, when: (ps: Pod[]) => boolean, what: string): Promise<void> {
  const before = await lease();
  const starts = op.starts;
  await client.create(job(name) as never);
  let ps: Pod[] = [];
  await eventually(async () => when((ps = await pods(name))), { timeoutMs: 60_000, intervalMs: 20, what });
  const held = await lease();
  op.kill();
  const gated = ps.filter((p) => p.spec.schedulingGates?.some((g) => g.name === SCHEDULING_GATE)).length;
  // The restarted process holds the lease well before the killed one's would have expired.
  const after = await eventually(async () => {
    const l = await lease();
    return l.spec.holderIdentity && l.spec.holderIdentity !== held.spec.holderIdentity ? l : false;
  }, { timeoutMs: 60_000, what: `a new leader after the kill (operator log: ${op.log()})` });
  assert.equal(op.starts, starts + 1, 'the container restarted once');
  const expiry = Date.parse(held.spec.renewTime!) + (held.spec.leaseDurationSeconds ?? 15) * 1000;
  assert.ok(Date.parse(after.spec.acquireTime!) < expiry, `took over at ${after.spec.acquireTime}; must be before the old lease's expiry ${new Date(expiry).toISOString()} (killed with ${ps.length} pods, ${gated} gated)`);
  assert.notEqual(before.spec.holderIdentity, after.spec.holderIdentity);
  await eventually(async () => {
    const now = await pods(name);
    return now.length === PODS && now.every((p) => p.status?.phase === 'Running');
  }, { timeoutMs: 120_000, what: `all ${PODS} pods Running after the kill (${ps.length} pods, ${gated} gated at the kill)` });
  assert.deepEqual(await gangProblems(client, 'kill', name, PODS), []);
  await eventually(async () => (await client.get<any>(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', 'kill', name))).status?.phase === 'Running' || false, { timeoutMs: 60_000, what: 'job Running' });
  const st = (await client.get<any>(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', 'kill', name))).status;
  assert.equal(st.restarts, 0, 'a kill of the operator is no gang restart');
  assert.equal(st.attempt, 0);
  await c.kubectl(['-n', 'kill', 'delete', 'mtj', name, '--wait=true', '--timeout=120s']);
  await eventually(async () => (await pods(name)).length === 0, { timeoutMs: 60_000, what: 'pods gone' });
}

test('operator killed before the gang exists: the successor creates the rest and releases it, no pod twice', async () => {
  await killDuring('k-early', (ps) => ps.length >= 1, 'the first pod');
});

test('operator killed half-way through creation', async () => {
  await killDuring('k-half', (ps) => ps.length >= PODS / 2, `${PODS / 2} pods`);
});

test('operator killed once every pod exists (during or just after the release)', async () => {
  await killDuring('k-release', (ps) => ps.length === PODS, `all ${PODS} pods`);
  // The lease this process holds is released on SIGTERM, so a successor need not wait for it.
  await op.stop();
  await eventually(async () => (await lease()).spec.holderIdentity === '' || false, { timeoutMs: 30_000, what: 'lease released on SIGTERM' });
});

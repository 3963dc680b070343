// MoETrainingJobs under the real Kueue (built by test/cluster/build.sh, run by test/cluster/kueue.ts) on a real API
// server with a KWOK fleet of 8 nodes × 8 GPUs (1 spine, 2 leaves). A ClusterQueue holds 16 GPUs: one tiny job (2 pods
// × 8 GPUs). Kueue admits pod groups; the operator places them (its planner's nodes) and releases its own gate only
// after Kueue's. Each step builds on the previous one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { startKueue, type RunningKueue } from '../../cluster/kueue.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, ROOT, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from '../operator/harness.js';

let c: LocalCluster;
let kueue: RunningKueue;
let op: Awaited<ReturnType<typeof startOperator>>;
const NS = 'team';

/** The Kueue objects of the README's Kueue section (a ResourceFlavor, a 16-GPU ClusterQueue, LocalQueue q1 in
 *  namespace team, WorkloadPriorityClasses low and high), applied as written. */
function readmeQueues(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => m[1]!)
    .find((b) => /^apiVersion: kueue\.x-k8s\.io\//m.test(b) && /^kind: ClusterQueue$/m.test(b));
  if (!block) throw new Error('README.md has no yaml block with a Kueue ClusterQueue (section "Kueue: quotas, queueing and preemption")');
  return block;
}

type Pod = {
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; nodeSelector?: Record<string, string>; schedulingGates?: Array<{ name: string }>; containers: Array<{ env?: Array<{ name: string; value?: string }> }> };
  status: { phase: string };
};
const pods = async (job: string): Promise<Pod[]> => (await json<{ items: Pod[] }>(c, ['-n', NS, 'get', 'pods', '-l', `moe.io/job-name=${job}`])).items;
const job = async (name: string) => json(c, ['-n', NS, 'get', 'mtj', name]);
const cond = (j: any, type: string) => j.status?.conditions?.find((x: any) => x.type === type);
const gates = (p: Pod) => (p.spec.schedulingGates ?? []).map((g) => g.name).sort();
const workload = async (j: any) => json(c, ['-n', NS, 'get', 'workloads.kueue.x-k8s.io', `${j.metadata.name}-${j.metadata.uid.replace(/-/g, '').slice(0, 8)}`]);
const wlCond = (w: any, type: string) => w.status?.conditions?.find((x: any) => x.type === type)?.status;

async function runningGang(name: string, n: number, attempt = 0): Promise<Pod[]> {
  return eventually(async () => {
    const ps = (await pods(name)).filter((p) => p.metadata.labels['moe.io/attempt'] === String(attempt) && !p.metadata.deletionTimestamp);
    return ps.length === n && ps.every((p) => p.status.phase === 'Running') ? ps : false;
  }, { timeoutMs: 90_000, what: `${n} running pods of ${name} (attempt ${attempt})` });
}

async function queued(name: string, reason = 'WaitingForKueueAdmission'): Promise<any> {
  return eventually(async () => {
    const j = await job(name);
    const q = cond(j, 'Queued');
    return q?.status === 'True' && q.reason === reason ? j : false;
  }, { timeoutMs: 60_000, what: `${name} Queued=True (${reason})` });
}

/** Rank 0 exits 0: the job Succeeds and the operator ends its Kueue group. */
async function finish(name: string): Promise<void> {
  await c.kubectl(['-n', NS, 'patch', 'pod', `${name}-0`, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
  await eventually(async () => (await job(name)).status?.phase === 'Succeeded' || false, { what: `${name} Succeeded` });
}

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  kueue = await startKueue(c);
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  await applyYaml(c, readmeQueues());
  // The operator runs with the chart's least-privilege RBAC: it needs no rights on Kueue's objects.
  op = await startOperator(await chartRbacKubeConfig(c));
});

after(async () => {
  await op?.stop();
  await kueue?.stop();
  await c?.stop();
});

describe('MoETrainingJob admitted by the real Kueue', () => {
  test('Kueue is the release built from the module proxy, serving its webhooks to the API server', async () => {
    assert.match(kueue.version, /^v0\.\d+\.\d+/);
    const hooks = await json(c, ['get', 'mutatingwebhookconfiguration', 'kueue-mutating-webhook-configuration']);
    const podHook = hooks.webhooks.find((w: any) => w.name === 'mpod.kb.io');
    assert.equal(podHook.clientConfig.url, `${kueue.webhookUrl}/mutate--v1-pod`);
  });

  test('two jobs over the quota: the first runs, the second waits visibly as queued by Kueue', async () => {
    await applyYaml(c, tinyJob('a', NS, '').replace('queue-name: q1}', 'queue-name: q1, kueue.x-k8s.io/priority-class: low}'));
    const aPods = await runningGang('a', 2);
    for (const p of aPods) {
      assert.equal(p.metadata.labels['kueue.x-k8s.io/managed'], 'true', 'Kueue manages the pod');
      assert.equal(p.metadata.annotations?.['kueue.x-k8s.io/pod-group-total-count'], '2');
      assert.deepEqual(gates(p), [], 'both gates gone');
    }
    const a = await job('a');
    assert.equal(cond(a, 'Queued').status, 'False');
    assert.equal(cond(a, 'Queued').reason, 'AdmittedByKueue');
    const wa = await workload(a);
    assert.equal(wlCond(wa, 'Admitted'), 'True');
    assert.equal(wa.spec.podSets.length, 1, 'one pod set: the gang');
    assert.equal(wa.spec.podSets[0].count, 2);

    await applyYaml(c, tinyJob('b', NS, '').replace('queue-name: q1}', 'queue-name: q1, kueue.x-k8s.io/priority-class: low}'));
    const b = await queued('b');
    assert.match(cond(b, 'Queued').message, /LocalQueue q1/);
    assert.match(cond(b, 'Queued').message, new RegExp(`Workload b-${b.metadata.uid.replace(/-/g, '').slice(0, 8)}`));
    assert.equal(b.status.phase, 'Pending');
    assert.equal(b.status.startTime, undefined, 'the gang is not released');
    // Still held a while later: the operator's gate and Kueue's on every pod (its webhook also adds its
    // topology gate, which admission to a flavor without topologyName removes), none bound, no quota reserved.
    await new Promise((r) => setTimeout(r, 3000));
    const bPods = await pods('b');
    assert.equal(bPods.length, 2);
    for (const p of bPods) {
      assert.deepEqual(gates(p), ['kueue.x-k8s.io/admission', 'kueue.x-k8s.io/topology', 'moe.io/gang']);
      assert.equal(p.spec.nodeName, undefined);
    }
    const wb = await workload(b);
    assert.notEqual(wlCond(wb, 'QuotaReserved'), 'True');
    assert.equal(cond(await job('b'), 'Queued').status, 'True');
  });

  test('the waiting job is admitted when the first finishes, and runs where the operator planned it', async () => {
    await finish('a');
    const bPods = await runningGang('b', 2);
    const b = await job('b');
    assert.equal(cond(b, 'Queued').reason, 'AdmittedByKueue');
    // a's Workload is Finished (its quota freed), or already gone with its pods.
    const wa = await workload(await job('a')).catch((e: Error) => (/NotFound/.test(e.message) ? 'gone' : Promise.reject(e)));
    assert.ok(wa === 'gone' || wlCond(wa, 'Finished') === 'True', `a's Workload: ${JSON.stringify(wa.status ?? wa)}`);
    // Who places what: Kueue chose the flavor (its node label is added), the operator chose the nodes.
    const plan = JSON.parse((await json(c, ['-n', NS, 'get', 'configmap', 'b-plan'])).data['plan.json']).plan;
    const nodes = new Map<string, Record<string, string>>();
    for (const n of (await json<{ items: any[] }>(c, ['get', 'nodes'])).items) nodes.set(n.metadata.name, n.metadata.labels);
    for (const p of bPods) {
      const idx = Number(p.metadata.labels['moe.io/pod-index']);
      const planned = plan.placement[idx];
      assert.equal(p.spec.nodeName, planned.node, `pod ${p.metadata.name} on the planner's node`);
      assert.deepEqual(p.spec.nodeSelector, { ...planned.nodeSelector, type: 'kwok' }, "the operator's selector and the flavor's label, together");
      // One pod's 8 GPUs are one node's NVLink domain.
      assert.equal(nodes.get(p.spec.nodeName!)!['moe.io/nvlink-domain'], nodes.get(planned.node)!['moe.io/nvlink-domain']);
    }
    const leaves = new Set(bPods.map((p) => nodes.get(p.spec.nodeName!)!['moe.io/leaf']));
    assert.equal(leaves.size, 1, `the 2-pod gang stays in one leaf, as planned: ${[...leaves].join(', ')}`);
    assert.equal(plan.summary.crossLeafBytes, 0, 'the plan itself has no cross-leaf traffic');
  });

  test('a higher-priority job preempts the running one, which queues again and resumes from its checkpoint', async () => {
    const ck = { data: { checkpoint: JSON.stringify({ step: 100, uri: `file:///checkpoints/${NS}/b/step-100` }) } };
    await c.kubectl(['-n', NS, 'patch', 'configmap', 'b-report', '--type=merge', '-p', JSON.stringify(ck)]);
    await eventually(async () => (await job('b')).status?.checkpoints?.latest?.step === 100 || false, { what: 'checkpoint 100 in b status' });

    await applyYaml(c, tinyJob('c', NS, '').replace('queue-name: q1}', 'queue-name: q1, kueue.x-k8s.io/priority-class: high}'));
    await runningGang('c', 2);
    const b = await eventually(async () => {
      const j = await job('b');
      return j.status?.attempt === 1 && cond(j, 'Queued')?.status === 'True' ? j : false;
    }, { timeoutMs: 60_000, what: 'b preempted and queued again' });
    assert.equal(b.status.restarts, 0, 'preemption does not spend the restart budget');
    assert.equal(b.status.lastFailure.reason, 'PreemptedByKueue');
    const events = await c.kubectl(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=b', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events, /Kueue stopped the gang/);
    // b's new gang (attempt 1) exists, held by Kueue's gate while c holds the quota.
    const held = await eventually(async () => {
      const ps = (await pods('b')).filter((p) => p.metadata.labels['moe.io/attempt'] === '1');
      return ps.length === 2 && ps.every((p) => gates(p).includes('kueue.x-k8s.io/admission')) ? ps : false;
    }, { what: "b's attempt-1 pods gated by Kueue" });
    assert.ok(held.every((p) => !p.spec.nodeName));
    await queued('b');

    await finish('c');
    const resumed = await runningGang('b', 2, 1);
    const env = Object.fromEntries((resumed.find((p) => p.metadata.labels['moe.io/pod-index'] === '0')!.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.MOE_RESUME_STEP, '100', 'resumes from the checkpoint taken before the preemption');
    const doc = JSON.parse((await json(c, ['-n', NS, 'get', 'configmap', 'b-plan'])).data['plan.json']);
    assert.equal(doc.checkpoint.resumeStep, 100);
    // The phase follows the pods at the operator's next reconcile (pod events are batched), so wait for it.
    const after = await eventually(async () => {
      const j = await job('b');
      return j.status?.phase === 'Running' ? j : false;
    }, { what: 'b Running again after the preemption' });
    assert.equal(cond(after, 'Queued').reason, 'AdmittedByKueue');
    assert.equal(after.status.restarts, 0);
  });

  test('a rank failing under Kueue restarts the gang (counted) and the new pods run without waiting in the queue again for long', async () => {
    const status = { status: { phase: 'Failed', containerStatuses: [{ name: 'trainer', image: 'moe-runtime:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] } };
    await c.kubectl(['-n', NS, 'patch', 'pod', 'b-1', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const ps = await runningGang('b', 2, 2);
    for (const p of ps) assert.deepEqual(gates(p), [], 'both gates gone from the new gang');
    // The status follows the pods at the operator's next reconcile.
    const j = await eventually(async () => {
      const x = await job('b');
      return x.status?.phase === 'Running' ? x : false;
    }, { what: 'b Running after the rank failure' });
    assert.equal(j.status.restarts, 1, 'a rank failure is counted, unlike the preemption before it');
    assert.equal(j.status.lastFailure.reason, 'Error');
    assert.equal(cond(j, 'Queued').reason, 'AdmittedByKueue');
    // No pod of an earlier attempt is left behind by Kueue's finalizer.
    assert.deepEqual((await pods('b')).map((p) => p.metadata.labels['moe.io/attempt']).sort(), ['2', '2']);
  });
});

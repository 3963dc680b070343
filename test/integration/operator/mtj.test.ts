// Step tables against a real control plane (etcd, kube-apiserver, scheduler, controller-manager) and a KWOK GPU fleet
// of 8 nodes × 8 GPUs (1 spine, 2 leaves, 4 nodes each). The operator runs in-process with the real planner.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { LeaderElector } from '../../../operator/kube/leader.js';
import { FIELD_MANAGER } from '../../../operator/api/constants.js';
import { KubeClient } from '../../../operator/kube/rest.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
let opKc: KubeConfig;
const NS = 'team';

type Pod = { metadata: { name: string; uid: string; labels: Record<string, string>; deletionTimestamp?: string }; spec: { nodeName?: string; nodeSelector?: Record<string, string>; schedulingGates?: unknown[] }; status: { phase: string } };

const pods = async (job: string): Promise<Pod[]> => (await json<{ items: Pod[] }>(c, ['-n', NS, 'get', 'pods', '-l', `moe.io/job-name=${job}`])).items;
const job = async (name: string) => json(c, ['-n', NS, 'get', 'mtj', name]);
const cond = (j: any, type: string) => j.status?.conditions?.find((x: any) => x.type === type);

async function runningGang(name: string, n: number, attempt = 0): Promise<Pod[]> {
  return eventually(
    async () => {
      const ps = (await pods(name)).filter((p) => p.metadata.labels['moe.io/attempt'] === String(attempt) && !p.metadata.deletionTimestamp);
      return ps.length === n && ps.every((p) => p.status.phase === 'Running') ? ps : false;
    },
    { timeoutMs: 60_000, what: `${n} running pods of ${name} (attempt ${attempt})` },
  );
}

async function failPod(name: string, exitCode: number, reason = 'Error'): Promise<void> {
  const status = {
    status: {
      phase: 'Failed',
      containerStatuses: [{ name: 'trainer', image: 'moe-runtime:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, reason } } }],
    },
  };
  await c.kubectl(['-n', NS, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
}

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  // The operator runs with the chart's least-privilege RBAC, not as admin.
  opKc = await chartRbacKubeConfig(c);
  op = await startOperator(opKc);
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

describe('MoETrainingJob on a real API server', () => {
  test('create → gated pods on the planner\'s nodes → gang released together → Running', async () => {
    // Watch the pods from before the job exists: every pod must be born gated, and none bound before all exist.
    const seen: Array<{ type: string; name: string; gated: boolean; bound: boolean }> = [];
    const w = await new Watch(c.kubeConfig()).watch(`/api/v1/namespaces/${NS}/pods`, { labelSelector: 'moe.io/job-name=a' }, (type, p: any) => {
      seen.push({ type, name: p.metadata.name, gated: (p.spec.schedulingGates ?? []).length > 0, bound: !!p.spec.nodeName });
    }, () => undefined);
    await applyYaml(c, tinyJob('a', NS));
    const ps = await runningGang('a', 2);
    w.abort();
    const added = seen.filter((e) => e.type === 'ADDED');
    assert.equal(added.length, 2);
    assert.ok(added.every((e) => e.gated), 'created with the scheduling gate');
    const firstBound = seen.findIndex((e) => e.bound);
    const lastAdded = seen.lastIndexOf(added[added.length - 1]!);
    assert.ok(firstBound > lastAdded, `no pod bound before every pod existed: ${JSON.stringify(seen)}`);
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 'a-plan']);
    const plan = JSON.parse(cm.data['plan.json']).plan;
    for (const p of ps) {
      const idx = Number(p.metadata.labels['moe.io/pod-index']);
      assert.equal(p.spec.nodeName, plan.placement[idx].node, `pod ${p.metadata.name} runs where the plan put it`);
      assert.deepEqual(p.spec.nodeSelector, { 'kubernetes.io/hostname': plan.placement[idx].node });
      assert.equal(p.spec.schedulingGates, undefined, 'gate removed');
      assert.equal(p.metadata.labels['kueue.x-k8s.io/queue-name'], 'q1', 'queue label copied');
    }
    const j = await eventually(async () => {
      const x = await job('a');
      return x.status?.phase === 'Running' ? x : false;
    }, { what: 'phase Running' });
    assert.equal(j.status.plan.worldSize, 16);
    assert.equal(j.status.plan.pods, 2);
    assert.equal(cond(j, 'GangReleased').status, 'True');
    assert.equal(cond(j, 'Running').observedGeneration, j.metadata.generation);
    const svc = await json(c, ['-n', NS, 'get', 'service', 'a']);
    assert.equal(svc.spec.clusterIP, 'None');
    const events = await c.kubectl(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=a', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events, /GangReleased/);
  });

  test('rank 0 reports progress and checkpoints through the one ConfigMap it may patch', async () => {
    // kubectl auth can-i exits 0 for yes and 1 for no.
    const can = (verb: string, what: string) =>
      c.kubectl(['auth', 'can-i', verb, what, '-n', NS, `--as=system:serviceaccount:${NS}:a-reporter`]).then(
        () => true,
        () => false,
      );
    assert.equal(await can('patch', 'configmaps/a-report'), true);
    assert.equal(await can('patch', 'configmaps/a-plan'), false);
    assert.equal(await can('get', 'configmaps/a-plan'), false);
    assert.equal(await can('patch', 'pods'), false);
    assert.equal(await can('list', 'configmaps'), false);
    const data = { data: { progress: JSON.stringify({ step: 120, loss: 3.25, tokens: 1000 }), checkpoint: JSON.stringify({ step: 100, uri: 'file:///checkpoints/team/a/step-100' }) } };
    await c.kubectl(['-n', NS, 'patch', 'configmap', 'a-report', '--type=merge', '-p', JSON.stringify(data), `--as=system:serviceaccount:${NS}:a-reporter`]);
    const j = await eventually(async () => {
      const x = await job('a');
      return x.status?.checkpoints?.latest?.step === 100 ? x : false;
    }, { what: 'checkpoint 100 in status' });
    assert.equal(j.status.progress.step, 120);
    assert.equal(j.status.progress.loss, 3.25);
  });

  test('a rank fails → the whole gang restarts from the latest checkpoint and status.restarts counts it', async () => {
    const before = await pods('a');
    await failPod('a-1', 1);
    const after = await runningGang('a', 2, 1);
    const oldUids = new Set(before.map((p) => p.metadata.uid));
    assert.ok(after.every((p) => !oldUids.has(p.metadata.uid)), 'every pod was replaced, not only the failed one');
    const j = await eventually(async () => {
      const x = await job('a');
      return x.status?.phase === 'Running' && x.status.restarts === 1 ? x : false;
    }, { what: 'Running with 1 restart' });
    assert.equal(j.status.attempt, 1);
    assert.equal(j.status.lastFailure.pod, 'a-1');
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 'a-plan']);
    const doc = JSON.parse(cm.data['plan.json']);
    assert.equal(doc.checkpoint.resumeStep, 100, 'resumes from the latest good checkpoint');
    const pod0 = await json(c, ['-n', NS, 'get', 'pod', 'a-0']);
    const env = Object.fromEntries(pod0.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    assert.equal(env.MOE_RESTART, '1');
    assert.equal(env.MOE_RESUME_STEP, '100');
  });

  test('suspend deletes the pods and keeps state; resume starts the gang again', async () => {
    await c.kubectl(['-n', NS, 'patch', 'mtj', 'a', '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await eventually(async () => ((await pods('a')).length === 0 && (await job('a')).status?.phase === 'Suspended') || false, { what: 'suspended, no pods' });
    const j = await job('a');
    assert.equal(j.status.checkpoints.latest.step, 100);
    await c.kubectl(['-n', NS, 'patch', 'mtj', 'a', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await runningGang('a', 2, 1);
    await eventually(async () => (await job('a')).status?.phase === 'Running' || false, { what: 'Running after resume' });
  });

  test('rank 0 exits 0 → Succeeded, and cleanPodPolicy Running removes the still-running pods', async () => {
    await c.kubectl(['-n', NS, 'patch', 'pod', 'a-0', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}']);
    await eventually(async () => (await job('a')).status?.phase === 'Succeeded' || false, { what: 'Succeeded' });
    await eventually(async () => {
      const ps = await pods('a');
      return ps.length === 1 && ps[0]!.metadata.name === 'a-0' ? true : false;
    }, { what: 'only the finished pod left' });
  });

  test('restarts beyond maxRestarts fail the job', async () => {
    await applyYaml(c, tinyJob('b', NS).replace('maxRestarts: 2', 'maxRestarts: 1'));
    await runningGang('b', 2, 0);
    await failPod('b-0', 1);
    await runningGang('b', 2, 1);
    await failPod('b-1', 1);
    const j = await eventually(async () => {
      const x = await job('b');
      return x.status?.phase === 'Failed' ? x : false;
    }, { what: 'Failed after the budget' });
    assert.equal(cond(j, 'Failed').reason, 'RestartBudgetExhausted');
    assert.equal(j.status.restarts, 1);
  });

  test('a FailJob rule on an exit code fails at once without restarting', async () => {
    await applyYaml(c, tinyJob('r', NS).replace('maxRestarts: 2', 'maxRestarts: 2\n    rules: [{action: FailJob, onExitCodes: [42]}]'));
    await runningGang('r', 2, 0);
    await failPod('r-1', 42);
    const j = await eventually(async () => {
      const x = await job('r');
      return x.status?.phase === 'Failed' ? x : false;
    }, { what: 'Failed by rule' });
    assert.equal(cond(j, 'Failed').reason, 'FailedByRule');
    assert.equal(j.status.restarts, 0);
  });

  test('invalid specs: the API server rejects static errors with the CEL message', async () => {
    const bad = tinyJob('bad', NS).replace('stages: 2, schedule: DualPipe, microBatches: 4', 'stages: 3, schedule: DualPipe, microBatches: 6');
    await assert.rejects(applyYaml(c, bad), /DualPipe needs an even number of pipeline stages/);
    const bad2 = tinyJob('bad2', NS).replace('model: {preset: deepseek-v3-tiny}', 'model: {config: {vocab_size: 100, hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 2, n_routed_experts: 12, num_experts_per_tok: 2, moe_intermediate_size: 32}}');
    await assert.rejects(applyYaml(c, bad2), /n_routed_experts must be divisible by parallelism.expert/);
    await assert.rejects(c.kubectl(['-n', NS, 'patch', 'mtj', 'b', '--type=merge', '-p', '{"spec":{"parallelism":{"expert":4}}}']), /parallelism is immutable/);
  });

  test('a job larger than the fleet is accepted and marked Unschedulable with a reason', async () => {
    await applyYaml(c, tinyJob('big', NS).replace('expert: 8', 'expert: 16\n    data: 4').replace('  failurePolicy:', '  training: {globalBatchSize: 256}\n  failurePolicy:'));
    const j = await eventually(async () => {
      const x = await job('big');
      return x.status?.phase === 'Unschedulable' ? x : false;
    }, { what: 'Unschedulable' });
    assert.equal(cond(j, 'Planned').status, 'False');
    assert.ok(cond(j, 'Planned').message.length > 10, cond(j, 'Planned').message);
    assert.equal((await pods('big')).length, 0);
    await c.kubectl(['-n', NS, 'delete', 'mtj', 'big', '--wait=true', '--timeout=30s']);
  });

  test('operator restarted → it adopts the running gang: no duplicate or orphaned pods', async () => {
    await applyYaml(c, tinyJob('d', NS));
    const before = await runningGang('d', 2);
    await op.stop();
    op = await startOperator(opKc);
    await new Promise((r) => setTimeout(r, 2000)); // give the new operator time to act if it (wrongly) would
    const after = await pods('d');
    assert.deepEqual(after.map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort());
    assert.equal((await job('d')).status.restarts, 0);
  });

  test('delete → the job, its pods, ConfigMaps, Service and RBAC are gone', async () => {
    await c.kubectl(['-n', NS, 'delete', 'mtj', 'd', '--wait=true', '--timeout=60s']);
    await eventually(async () => {
      const left = await c.kubectl(['-n', NS, 'get', 'pods,configmaps,services,serviceaccounts,roles,rolebindings', '-l', 'moe.io/job-name=d', '-o', 'name']);
      return left.trim() === '' ? true : false;
    }, { timeoutMs: 60_000, what: 'no children of d left' });
  });

  test('a rank\'s node disappears → the gang restarts elsewhere and the node is avoided', async () => {
    await applyYaml(c, tinyJob('nl', NS));
    const ps = await runningGang('nl', 2, 0);
    const lost = ps.find((p) => p.metadata.name === 'nl-1')!.spec.nodeName!;
    await c.kubectl(['delete', 'node', lost, '--wait=false']);
    const again = await runningGang('nl', 2, 1);
    assert.ok(again.every((p) => p.spec.nodeName !== lost), `no pod on ${lost}`);
    const j = await job('nl');
    assert.deepEqual(j.status.excludedNodes, [lost]);
    assert.equal(j.status.lastFailure.reason, 'NodeLost');
    await c.kubectl(['-n', NS, 'delete', 'mtj', 'nl', '--wait=true', '--timeout=60s']);
  });

  test('two candidates → one leader; when it stops, the standby takes over within the lease duration', async () => {
    const client = new KubeClient(c.kubeConfig(), FIELD_MANAGER);
    const leading: string[] = [];
    const mk = (id: string) =>
      new LeaderElector({ client, namespace: 'default', name: 'test-lease', identity: id, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 1, onStartedLeading: () => leading.push(id), onStoppedLeading: () => leading.push(`-${id}`) });
    const a = mk('a');
    const b = mk('b');
    a.start();
    b.start();
    await eventually(() => leading.length >= 1 || false, { what: 'a leader' });
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(leading.length, 1, `exactly one leader: ${leading.join(',')}`);
    const first = leading[0]!;
    const [leader, standby] = first === 'a' ? [a, b] : [b, a];
    assert.equal(standby.isLeader(), false);
    const t0 = Date.now();
    await leader.stop();
    await eventually(() => standby.isLeader() || false, { timeoutMs: 15_000, what: 'standby takes over' });
    assert.ok(Date.now() - t0 < 15_000);
    await standby.stop();
  });
});

// Issue 19 items 12, 14 and 5 against a real control plane (KWOK GPU fleet of 8 × 8 GPUs; the operator in-process
// with the chart's least-privilege RBAC): existing objects are never taken over by name, every refused child write
// shows as a condition and an event (with backoff), bad names are refused at admission, and a serving gang that
// keeps failing at start is restarted with backoff and a budget.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
const NS = 'owned';
const RESTRICTED = 'restricted';

const get = (kind: string, name: string, ns = NS) => json(c, ['-n', ns, 'get', kind, name]);
const cond = (o: any, type: string) => o.status?.conditions?.find((x: any) => x.type === type);
const events = async (name: string, reason: string, ns = NS): Promise<string[]> =>
  (await json<{ items: Array<{ message: string }> }>(c, ['-n', ns, 'get', 'events', '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items.map((e) => e.message);
const condition = (kind: string, name: string, type: string, ns = NS) =>
  eventually(
    async () => {
      const o = await get(kind, name, ns);
      return cond(o, type)?.status === 'True' ? o : false;
    },
    { timeoutMs: 30_000, what: `${kind} ${name} ${type}=True` },
  );

/** A deployment serving the tiny preset from a checkpoint: no prefill, decode replicas of 1 pod × 8 GPUs. */
function deployment(name: string, decodeReplicas: number, extra = ''): string {
  return `apiVersion: moe.io/v1alpha1
kind: InferenceDeployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  model:
    checkpoint: {uri: file:///models/tiny}
    architecture: {preset: deepseek-v3-tiny}
  roles:
    prefill: {replicas: 0, podsPerReplica: 1, gpusPerPod: 8}
    decode: {replicas: ${decodeReplicas}, podsPerReplica: 1, gpusPerPod: 8}
  eplb: {intervalSeconds: 0}
  template:
    spec:
      containers:
      - {name: server, image: moe-runtime:test, command: [moe-runtime]}
${extra}`;
}

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 2, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  await c.kubectl(['create', 'namespace', NS]);
  await c.kubectl(['create', 'namespace', RESTRICTED]);
  await c.kubectl(['label', 'namespace', RESTRICTED, 'pod-security.kubernetes.io/enforce=restricted']);
  op = await startOperator(await chartRbacKubeConfig(c), { infd: true });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

describe('existing objects are not taken over by name (item 12)', () => {
  test('a job named victim leaves the user\'s ConfigMap, Service, ServiceAccount, Role and RoleBinding alone, says NameConflict, and its deletion collects none of them', async () => {
    await applyYaml(
      c,
      `apiVersion: v1
kind: ConfigMap
metadata: {name: victim-plan, namespace: ${NS}}
data: {keep: me}
---
apiVersion: v1
kind: Service
metadata: {name: victim, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: victim-reporter, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: victim-reporter, namespace: ${NS}}
rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: victim-reporter, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: victim-reporter}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: victim-reporter, namespace: ${NS}}
`,
    );
    await applyYaml(c, tinyJob('victim', NS));
    const j = await condition('mtj', 'victim', 'NameConflict');
    const msg = cond(j, 'NameConflict').message as string;
    for (const o of ['ConfigMap owned/victim-plan', 'Service owned/victim', 'ServiceAccount owned/victim-reporter', 'Role owned/victim-reporter', 'RoleBinding owned/victim-reporter']) assert.ok(msg.includes(o), `${o} named in: ${msg}`);
    assert.equal(j.status.phase, 'Pending');
    await eventually(async () => (await events('victim', 'NameConflict')).length === 1 || false, { what: 'one NameConflict event' });
    const check = async () => {
      assert.deepEqual((await get('configmap', 'victim-plan')).data, { keep: 'me' });
      assert.deepEqual((await get('service', 'victim')).spec.selector, { app: 'web' });
      assert.deepEqual((await get('role', 'victim-reporter')).rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
      assert.ok((await get('rolebinding', 'victim-reporter')).subjects.some((s: any) => s.name === 'alice'), 'alice still bound');
      for (const [k, n] of [['configmap', 'victim-plan'], ['service', 'victim'], ['serviceaccount', 'victim-reporter'], ['role', 'victim-reporter'], ['rolebinding', 'victim-reporter']] as const) {
        assert.equal((await get(k, n)).metadata.ownerReferences, undefined, `${k} ${n} got no owner reference`);
      }
    };
    await check();
    const ps = await json(c, ['-n', NS, 'get', 'pods', '-l', 'moe.io/job-name=victim']);
    assert.equal(ps.items.length, 0, 'no pods start while the names are taken');
    await c.kubectl(['-n', NS, 'delete', 'mtj', 'victim', '--wait=true', '--timeout=30s']);
    await sleep(3000); // the garbage collector acts within a second on objects that name a deleted owner
    await check();
  });

  test('someone else\'s pod with a decode pod\'s name: NameConflict and Degraded (not Healthy), the pod is neither released nor adopted', async () => {
    await applyYaml(
      c,
      `apiVersion: v1
kind: Pod
metadata: {name: imp-decode-0-0, namespace: ${NS}, labels: {app.kubernetes.io/managed-by: moe-operator, moe.io/deployment-name: imp, moe.io/role: decode, moe.io/replica: '0', moe.io/pod-index: '0'}}
spec:
  schedulingGates: [{name: moe.io/gang}]
  containers: [{name: x, image: busybox}]
`,
    );
    await applyYaml(c, deployment('imp', 1));
    const d = await condition('infd', 'imp', 'NameConflict');
    assert.match(cond(d, 'NameConflict').message, /Pod owned\/imp-decode-0-0 already exists/);
    assert.equal(cond(d, 'Degraded').status, 'True');
    assert.equal(cond(d, 'Degraded').reason, 'NameConflict');
    assert.equal(d.status.phase, 'Degraded');
    await sleep(3000);
    const p = await get('pod', 'imp-decode-0-0');
    assert.deepEqual(p.spec.schedulingGates, [{ name: 'moe.io/gang' }], 'the gate of someone else\'s pod is not removed');
    assert.equal(p.metadata.ownerReferences, undefined);
    assert.equal((await events('imp', 'ScaledUp')).length, 0, 'no "started replica 0"');
    // Once the name is free, the deployment starts its replica and the condition clears.
    await c.kubectl(['-n', NS, 'delete', 'pod', 'imp-decode-0-0', '--wait=true']);
    await eventually(
      async () => {
        const x = await get('infd', 'imp');
        return cond(x, 'NameConflict')?.status === 'False' && x.status.roles?.decode?.readyReplicas === 1 ? x : false;
      },
      { timeoutMs: 60_000, what: 'conflict cleared and decode ready (within the 5 s write backoff)' },
    );
  });
});

describe('a Service name taken by another of the operator\'s own resources (item 14)', () => {
  test('an InferenceDeployment and a job of the same name: the second says NameConflict instead of retrying silently', async () => {
    await applyYaml(c, deployment('dup', 1));
    await eventually(async () => (await get('service', 'dup')).metadata.ownerReferences?.[0]?.kind === 'InferenceDeployment' || false, { what: 'Service dup of the deployment' });
    await applyYaml(c, tinyJob('dup', NS));
    const j = await condition('mtj', 'dup', 'NameConflict');
    assert.match(cond(j, 'NameConflict').message, /Service owned\/dup already exists and it is controlled by InferenceDeployment dup/);
    assert.equal((await get('service', 'dup')).metadata.ownerReferences.length, 1, 'the deployment\'s Service gained no second owner');
    await c.kubectl(['-n', NS, 'delete', 'mtj', 'dup', '--wait=true', '--timeout=30s']);
    await c.kubectl(['-n', NS, 'delete', 'infd', 'dup', '--wait=true', '--timeout=30s']);
  });
});

describe('refused writes show in status, with backoff (item 14)', () => {
  const refused = async (name: string, ns: string, template: string, want: RegExp) => {
    await applyYaml(c, tinyJob(name, ns, '').replace(/  template:\n[\s\S]*$/, template));
    const j = await condition('mtj', name, 'WriteFailed', ns);
    assert.match(cond(j, 'WriteFailed').message, want);
    assert.equal(cond(j, 'WriteFailed').reason, 'FailedCreate');
    assert.equal(j.status.phase, 'Pending');
    const evs = await eventually(async () => ((await events(name, 'FailedCreate', ns)).length ? events(name, 'FailedCreate', ns) : false), { what: `FailedCreate event of ${name}` });
    assert.match(evs[0]!, want);
    return j;
  };
  const errors = async () => ((await op.metrics.reconciles.get()).values.find((v) => v.labels.kind === 'MoETrainingJob' && v.labels.outcome === 'error')?.value ?? 0);

  test('nodeName in the template: spec.nodeName Forbidden in the condition and an event; not retried hot', async () => {
    const before = await errors();
    await refused('pinned', NS, `  template:\n    spec:\n      nodeName: gpu-s0-l0-n00\n      containers:\n      - {name: trainer, image: moe-runtime:test}\n`, /spec\.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared/);
    const e0 = await errors();
    await sleep(8000);
    const j = await get('mtj', 'pinned');
    assert.ok((await errors()) - e0 <= 1 && e0 - before <= 1, `failed reconciles are not retried by the queue's hot backoff: ${before} → ${e0} → ${await errors()}`);
    assert.equal((await events('pinned', 'FailedCreate')).length, 1, 'one event, not one per retry');
    assert.equal(cond(j, 'WriteFailed').status, 'True');
  });

  test('a privileged template in a namespace enforcing Pod Security restricted: violates PodSecurity in the condition', async () => {
    await refused('priv', RESTRICTED, `  template:\n    spec:\n      containers:\n      - name: trainer\n        image: moe-runtime:test\n        securityContext: {privileged: true}\n`, /violates PodSecurity "restricted:latest"/);
  });

  test('an invalid container name and a misspelled field (comand) are refused with their paths, not dropped', async () => {
    await refused('badname', NS, `  template:\n    spec:\n      containers:\n      - {name: Trainer_1, image: moe-runtime:test}\n`, /spec\.containers\[0\]\.name: Invalid value: "Trainer_1"/);
    await refused('typo', NS, `  template:\n    spec:\n      containers:\n      - {name: trainer, image: moe-runtime:test, comand: [sleep]}\n`, /unknown field "spec\.containers\[0\]\.comand"/);
  });

  test('names with dots are refused at admission, for both kinds, with the rule', async () => {
    await assert.rejects(applyYaml(c, tinyJob('tiny.v1', NS)), /metadata.name must be a DNS label/);
    await assert.rejects(applyYaml(c, deployment('serve.v1', 1)), /metadata.name must be a DNS label/);
  });
});

describe('a serving gang failing at start (item 5)', () => {
  test('is restarted with backoff, then held down after maxRestarts; Degraded says why; Available says MinimumReplicasAvailable', async () => {
    await applyYaml(c, deployment('flaky', 2, '  failurePolicy: {maxRestarts: 2, backoff: {initialSeconds: 3, maxSeconds: 6}}\n'));
    // Replica 1 dies as soon as it runs, every time.
    const uids = new Set<string>();
    const stop = Date.now() + 25_000;
    while (Date.now() < stop) {
      const ps = await json<{ items: any[] }>(c, ['-n', NS, 'get', 'pods', '-l', 'moe.io/deployment-name=flaky,moe.io/role=decode,moe.io/replica=1']);
      for (const p of ps.items) {
        uids.add(p.metadata.uid);
        if (p.status.phase === 'Running' && !p.metadata.deletionTimestamp) {
          const status = { status: { phase: 'Failed', containerStatuses: [{ name: 'server', image: 'moe-runtime:test', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, reason: 'Error' } } }] } };
          await c.kubectl(['-n', NS, 'patch', 'pod', p.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]).catch(() => undefined);
        }
      }
      await sleep(300);
    }
    console.log(`replica 1 was started ${uids.size} times in 25 s`);
    assert.equal(uids.size, 3, 'the first start and two restarts (maxRestarts 2), 0 s then 3 s apart');
    const d = await get('infd', 'flaky');
    assert.equal(cond(d, 'Degraded').status, 'True');
    assert.equal(cond(d, 'Degraded').reason, 'RestartBudgetExhausted');
    assert.match(cond(d, 'Degraded').message, /decode replica 1 is down: restart budget/);
    assert.equal(cond(d, 'Available').status, 'True');
    assert.equal(cond(d, 'Available').reason, 'MinimumReplicasAvailable');
    assert.equal(d.status.roles.decode.ready, '1/2');
    assert.equal(d.status.phase, 'Degraded');
    assert.equal((await events('flaky', 'RestartBudgetExhausted')).length, 1);
  });
});

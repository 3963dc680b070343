// Issue 19 item 13: the operator's rights are no wider than its job. With the chart's watchNamespaces set, its
// account may create pods, Roles and RoleBindings only in the listed namespaces (server-side dry runs impersonating the
// operator's ServiceAccount), it watches only those, and a job there still runs end to end on those rights alone.
// Pods run with the user's template, so the namespace's Pod Security level applies: a restricted namespace refuses a
// privileged template, and the job says so in its status and events (item 14's WriteFailed condition).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { DEFAULT_TOPOLOGY, ROOT, applyYaml, chartRbacKubeConfig, installCrds, json, startOperator, tinyJob } from './harness.js';

let c: LocalCluster;
let op: Awaited<ReturnType<typeof startOperator>>;
let opKc: KubeConfig;
const SERVED = 'team-a';
const RESTRICTED = 'team-r';
const OTHER = 'team-b';
const RELEASE_NS = 'moe-system';
const SA = `system:serviceaccount:${RELEASE_NS}:moe-moe-operator`;

/** A privileged pod with the host's root filesystem: what the operator's account must not be able to create anywhere. */
const rootPod = (ns: string) => `apiVersion: v1
kind: Pod
metadata: {name: grab-host, namespace: ${ns}}
spec:
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: true}
    volumeMounts: [{name: root, mountPath: /host}]
  volumes: [{name: root, hostPath: {path: /}}]
`;

/** kubectl as the operator's ServiceAccount (impersonation by the admin), server-side dry run. */
async function asOperator(args: string[], input?: string): Promise<string> {
  try {
    return await c.kubectl([`--as=${SA}`, ...args], input);
  } catch (e) {
    return (e as Error).message;
  }
}

/** Whether the operator's ServiceAccount may `verb` `resource` in `ns` (a SelfSubjectAccessReview made as it). */
async function operatorMay(verb: string, resource: string, ns?: string): Promise<boolean> {
  const [res, group] = resource.split(/\.(.*)/s) as [string, string | undefined];
  const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, resource: res, group: group ?? '', ...(ns ? { namespace: ns } : {}) } } };
  const out = await c.kubectl([`--as=${SA}`, 'create', '--validate=false', '-o', 'json', '-f', '-'], JSON.stringify(review));
  return JSON.parse(out).status.allowed === true;
}

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 4, gpusPerNode: 8 }, runnerNodes: 0 });
  await installCrds(c);
  await applyYaml(c, DEFAULT_TOPOLOGY);
  for (const ns of [SERVED, RESTRICTED, OTHER]) await c.kubectl(['create', 'namespace', ns]);
  await c.kubectl(['label', 'namespace', RESTRICTED, 'pod-security.kubernetes.io/enforce=restricted']);
  opKc = await chartRbacKubeConfig(c, RELEASE_NS, ['--set', `watchNamespaces={${SERVED},${RESTRICTED}}`]);
  op = await startOperator(opKc, { namespaces: [SERVED, RESTRICTED] });
});

after(async () => {
  await op?.stop();
  await c?.stop();
});

test('with watchNamespaces the operator cannot create pods, Roles or RoleBindings in another namespace (server-side dry run)', async () => {
  for (const ns of [OTHER, 'kube-system']) {
    assert.match(await asOperator(['create', '--dry-run=server', '-f', '-'], rootPod(ns)), /pods is forbidden: User "system:serviceaccount:moe-system:moe-moe-operator" cannot create resource "pods"/, ns);
    for (const r of ['pods', 'roles.rbac.authorization.k8s.io', 'rolebindings.rbac.authorization.k8s.io', 'configmaps', 'serviceaccounts']) {
      assert.equal(await operatorMay('create', r, ns), false, `create ${r} in ${ns}`);
    }
  }
  assert.equal(await operatorMay('create', 'pods', SERVED), true, 'it still may where it serves');
  assert.equal(await operatorMay('create', 'rolebindings.rbac.authorization.k8s.io', SERVED), true);
  assert.equal(await operatorMay('list', 'nodes'), true, 'nodes stay readable cluster-wide (the planner)');
  assert.equal(await operatorMay('list', 'pods'), false, 'no cluster-wide pod list');
});

test('without watchNamespaces (the default) the chart grants the namespaced rights cluster-wide', async () => {
  const out = await c.helm(['template', 'moe', join(ROOT, 'charts', 'moe-operator'), '--namespace', RELEASE_NS, '--show-only', 'templates/rbac.yaml']);
  const docs = out.split(/^---$/m);
  const clusterRole = docs.find((d) => /kind: ClusterRole\n/.test(d))!;
  assert.match(clusterRole, /resources: \[pods\]/);
  assert.ok(!docs.some((d) => /^kind: Role$/m.test(d) && !/-leader/.test(d)), 'no per-namespace Roles');
  const narrowed = await c.helm(['template', 'moe', join(ROOT, 'charts', 'moe-operator'), '--namespace', RELEASE_NS, '--set', 'watchNamespaces={x,y}', '--show-only', 'templates/rbac.yaml', '--show-only', 'templates/deployment.yaml']);
  assert.doesNotMatch(narrowed.split(/^---$/m).find((d) => /kind: ClusterRole\n/.test(d))!, /resources: \[(pods|roles|rolebindings|moetrainingjobs)/);
  assert.equal((narrowed.match(/^kind: Role$/gm) ?? []).length, 3, 'a Role in x and y, and the leader-election Role');
  assert.match(narrowed, /name: WATCH_NAMESPACES\s+value: "x,y"/);
});

test('a job in a served namespace runs on the namespaced rights alone; one in another namespace is not touched', async () => {
  await applyYaml(c, tinyJob('served', SERVED));
  await applyYaml(c, tinyJob('elsewhere', OTHER));
  await eventually(async () => (await json(c, ['-n', SERVED, 'get', 'mtj', 'served'])).status?.phase === 'Running', { timeoutMs: 90_000, what: 'served job Running' });
  const other = await json(c, ['-n', OTHER, 'get', 'mtj', 'elsewhere']);
  assert.equal(other.status, undefined, 'no status written outside the watched namespaces');
  assert.equal((await json<{ items: unknown[] }>(c, ['-n', OTHER, 'get', 'pods'])).items.length, 0);
});

test('a restricted namespace refuses a privileged template, and the job shows why (condition and event)', async () => {
  const privileged = tinyJob('priv', RESTRICTED).replace(
    '      - {name: trainer, image: moe-runtime:test}',
    '      - {name: trainer, image: moe-runtime:test, securityContext: {privileged: true}}',
  );
  assert.notEqual(privileged, tinyJob('priv', RESTRICTED), 'the template was made privileged');
  await applyYaml(c, privileged);
  const j = await eventually(
    async () => {
      const x = await json(c, ['-n', RESTRICTED, 'get', 'mtj', 'priv']);
      return (x.status?.conditions ?? []).some((k: any) => k.status === 'True' && /violates PodSecurity "restricted/.test(k.message)) ? x : false;
    },
    { timeoutMs: 60_000, what: 'a True condition on the job quoting the Pod Security refusal' },
  );
  const events = (await json<{ items: Array<{ type: string; message: string }> }>(c, ['-n', RESTRICTED, 'get', 'events', '--field-selector', 'involvedObject.name=priv'])).items;
  assert.ok(events.some((e) => e.type === 'Warning' && /violates PodSecurity "restricted/.test(e.message)), JSON.stringify(events));
  assert.equal((await json<{ items: unknown[] }>(c, ['-n', RESTRICTED, 'get', 'pods'])).items.length, 0, 'no pod was admitted');
  assert.ok(j.status.phase !== 'Running');
});

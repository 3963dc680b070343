// The chart with the real Helm CLI: lint, template (checked), install into a local cluster, uninstall.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';
import { ROOT, json } from './harness.js';

const CHART = join(ROOT, 'charts', 'moe-operator');
let c: LocalCluster;

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }, runnerNodes: 0 });
});
after(async () => c?.stop());

test('helm lint is clean', async () => {
  const out = await c.helm(['lint', '--strict', CHART]);
  assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('helm template renders least-privilege RBAC, a hardened Deployment and the default topology', async () => {
  const out = await c.helm(['template', 'moe', CHART, '--namespace', 'moe-system', '--set', 'replicaCount=2']);
  const docs = parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
  const byKind = (k: string) => docs.filter((d: any) => d.kind === k);
  for (const r of [...byKind('ClusterRole'), ...byKind('Role')]) {
    for (const rule of r.rules) {
      assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*') && !(rule.apiGroups ?? []).includes('*'), `no wildcards in ${r.metadata.name}`);
    }
  }
  assert.ok(!docs.some((d: any) => d.kind === 'ClusterRoleBinding' && d.roleRef.name === 'cluster-admin'));
  const dep = byKind('Deployment')[0];
  assert.equal(dep.spec.replicas, 2);
  const pod = dep.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  const ctr = pod.containers[0];
  assert.equal(ctr.securityContext.readOnlyRootFilesystem, true);
  assert.equal(ctr.securityContext.allowPrivilegeEscalation, false);
  assert.ok(ctr.resources.requests.cpu && ctr.resources.requests.memory);
  assert.equal(ctr.livenessProbe.httpGet.path, '/healthz');
  assert.equal(ctr.readinessProbe.httpGet.path, '/readyz');
  assert.equal(ctr.env.find((e: any) => e.name === 'LEADER_ELECT').value, 'true');
  assert.equal(byKind('ClusterTopology')[0].metadata.name, 'default');
  assert.equal(byKind('Service')[0].spec.ports[0].name, 'metrics');
});

test('values.schema.json rejects a bad value with the field named', async () => {
  await assert.rejects(c.helm(['template', 'moe', CHART, '--set', 'replicaCount=-1']), /replicaCount/);
});

test('helm install puts CRDs, the default ClusterTopology and the operator into the cluster; uninstall removes the release', async () => {
  await c.helm(['install', 'moe', CHART, '--namespace', 'moe-system', '--create-namespace', '--set', 'replicaCount=2', '--wait=false']);
  const crds = await c.kubectl(['get', 'crd', '-o', 'name']);
  assert.match(crds, /moetrainingjobs\.moe\.io/);
  assert.match(crds, /clustertopologies\.moe\.io/);
  assert.match(crds, /inferencedeployments\.moe\.io/);
  assert.match(crds, /inferenceroles\.moe\.io/);
  const topo = await json(c, ['get', 'clustertopology', 'default']);
  assert.equal(topo.spec.levels[0].name, 'nvlink');
  const dep = await json(c, ['-n', 'moe-system', 'get', 'deployment', 'moe-moe-operator']);
  assert.equal(dep.spec.replicas, 2);
  // The API server publishes a new CRD's OpenAPI a moment after it is created: ask until kubectl finds it.
  const explain = await eventually(() => c.kubectl(['explain', 'moetrainingjob.spec.parallelism.pipeline.schedule']), { what: 'kubectl explain of the new CRD' });
  assert.match(explain, /DualPipe/);
  await c.helm(['uninstall', 'moe', '--namespace', 'moe-system']);
  await eventually(async () => ((await c.kubectl(['-n', 'moe-system', 'get', 'deployments', '-o', 'name'])).trim() === '' ? true : false), { what: 'deployment removed' });
});

test("the chart's operator pods pass Pod Security restricted in their namespace", async () => {
  await c.kubectl(['create', 'namespace', 'moe-restricted']);
  await c.kubectl(['label', 'namespace', 'moe-restricted', 'pod-security.kubernetes.io/enforce=restricted']);
  await c.helm(['install', 'moe-r', CHART, '--namespace', 'moe-restricted', '--set', 'replicaCount=2', '--set', 'defaultTopology.create=false', '--wait=false']);
  // The ReplicaSet creates both pods only if admission lets them in; a refusal would leave FailedCreate events instead.
  await eventually(async () => {
    const pods = (await c.kubectl(['-n', 'moe-restricted', 'get', 'pods', '-o', 'name'])).trim().split('\n').filter(Boolean);
    if (pods.length === 2) return true;
    const events = await c.kubectl(['-n', 'moe-restricted', 'get', 'events', '--field-selector', 'reason=FailedCreate', '-o', 'jsonpath={.items[*].message}']);
    assert.doesNotMatch(events, /violates PodSecurity/);
    return false;
  }, { timeoutMs: 60_000, what: 'two operator pods admitted under restricted' });
  await c.helm(['uninstall', 'moe-r', '--namespace', 'moe-restricted']);
});

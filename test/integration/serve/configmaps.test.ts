// The serving pods' API client (runtime/src/kube/configmaps.ts) against a real kube-apiserver, authenticated the way
// a pod is (token, CA and namespace files under MOE_POD_ROOT, KUBERNETES_SERVICE_HOST/PORT) as the ServiceAccounts
// the InferenceDeployment controller creates, with exactly its RBAC (serveRbac): the router reads routes, a leader
// swaps placement and merge-patches its load key, and neither can do more.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveRbac } from '../../../operator/controllers/infd/desired.js';
import type { IInferenceDeployment } from '../../../operator/api/types.gen.js';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { inClusterConfigMaps, type ConfigMapStore } from '../../../runtime/src/kube/configmaps.js';
import { OperatorSync } from '../../../runtime/src/serve/http/operator-sync.js';
import { configMapRoutes } from '../../../runtime/src/serve/http/routes.js';
import { json } from '../operator/harness.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';

const NS = 'srv';
let c: LocalCluster;
let roots: string;

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }, runnerNodes: 0 });
  await c.kubectl(['create', 'namespace', NS]);
  // The controller's RBAC for deployment "s", without the owner reference (no InferenceDeployment object here).
  const objs = serveRbac({ metadata: { name: 's', namespace: NS, uid: '00000000-0000-0000-0000-000000000001' }, spec: {} } as unknown as IInferenceDeployment);
  for (const o of objs) delete (o.metadata as { ownerReferences?: unknown }).ownerReferences;
  await c.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));
  for (const [name, data] of Object.entries({
    's-routing': { routes: JSON.stringify({ model: 's', prefill: [], decode: [{ replica: 0, url: 'http://10.0.0.7:8000' }] }) },
    's-placement': { decode: JSON.stringify({ version: 2, gpus: 1, slotsPerGpu: 16, phy2log: Array.from({ length: 3 }, () => Array.from({ length: 16 }, (_, i) => i)) }) },
    's-expert-load': {},
    'other': { secret: 'x' },
  })) await c.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data }));
  roots = mkdtempSync(path.join(tmpdir(), 'moe-pod-roots-'));
});

after(async () => {
  await c?.stop();
  if (roots) rmSync(roots, { recursive: true, force: true });
});

/** A pod's view of the cluster as ServiceAccount `sa`: its token files under a root, and the env a pod has. */
async function podStore(sa: string): Promise<ConfigMapStore> {
  const token = (await c.kubectl(['-n', NS, 'create', 'token', sa, '--duration=1h'])).trim();
  const cluster = c.kubeConfig().getCurrentCluster()!;
  const root = path.join(roots, sa);
  const dir = path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'token'), token);
  writeFileSync(path.join(dir, 'namespace'), NS);
  writeFileSync(path.join(dir, 'ca.crt'), cluster.caData ? Buffer.from(cluster.caData, 'base64') : (await import('node:fs')).readFileSync(cluster.caFile!));
  const url = new URL(cluster.server);
  // client-node takes the API address from process.env, as a pod's env would give it.
  process.env.KUBERNETES_SERVICE_HOST = url.hostname;
  process.env.KUBERNETES_SERVICE_PORT = url.port;
  const store = inClusterConfigMaps({ MOE_NAMESPACE: NS, MOE_POD_ROOT: root, KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port });
  assert.ok(store, 'a store inside the cluster');
  return store;
}

test('outside a cluster there is no store', () => {
  assert.equal(inClusterConfigMaps({ MOE_NAMESPACE: NS }), undefined);
});

test('the router reads its routing ConfigMap and nothing else', async () => {
  const store = await podStore('s-router');
  const logs: Record<string, unknown>[] = [];
  const routes = await configMapRoutes(store, 's-routing', 60_000, (e) => logs.push(e));
  try {
    assert.deepEqual(routes.current(), { model: 's', prefill: [], decode: [{ replica: 0, url: 'http://10.0.0.7:8000' }] }, JSON.stringify(logs));
  } finally {
    await routes.stop();
  }
  await assert.rejects(store.read('other'), /forbidden|Forbidden|403/);
  await assert.rejects(store.mergePatch('s-routing', { routes: '{}' }), /forbidden|Forbidden|403/);
});

test('a leader applies the placement and merge-patches its load key; other ConfigMaps are out of reach', async () => {
  const store = await podStore('s-leader');
  const c3 = modelConfig('deepseek-v3-tiny', { vocab_size: 256, num_hidden_layers: 4, first_k_dense_replace: 1 });
  const engine = Engine.random(c3, byteTokenizer, { maxBatch: 2, maxQueue: 2, precision: 'fp32' }, 1);
  const sync = new OperatorSync({ store, engine, role: 'decode', log: () => {}, placementConfigMap: 's-placement', loadConfigMap: 's-expert-load', podName: 's-decode-0-0', replica: 0, intervalMs: 60_000 });
  try {
    await sync.start();
    assert.equal(engine.stats().placementVersion, 2);
    const cm = await json(c, ['-n', NS, 'get', 'configmap', 's-expert-load']);
    const load = JSON.parse(cm.data['s-decode-0-0']);
    assert.equal(load.role, 'decode');
    assert.equal(load.startedAt, sync.startedAt);
    assert.deepEqual(load.counts, Array.from({ length: 3 }, () => new Array(16).fill(0)));
    await assert.rejects(store.read('s-routing'), /forbidden|Forbidden|403/);
    await assert.rejects(store.mergePatch('s-placement', { decode: '{}' }), /forbidden|Forbidden|403/);
  } finally {
    await sync.stop();
    await engine.close();
  }
});

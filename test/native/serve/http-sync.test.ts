// Role pods and the operator: the placement ConfigMap's version change swaps the engine's placement (a bad one is
// refused and the old one stays), load reports carry cumulative counts per expert, and the router follows the
// routing ConfigMap. The ConfigMap store here is in memory; the API client behind it is ../../../runtime/src/kube.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMapStore } from '../../../runtime/src/kube/configmaps.js';
import { OperatorSync } from '../../../runtime/src/serve/http/operator-sync.js';
import { configMapRoutes } from '../../../runtime/src/serve/http/routes.js';
import { eventually } from '../../util/poll.js';
import { tinyConfig, tinyEngine } from './http-fixture.js';

function memoryStore(): ConfigMapStore & { maps: Map<string, Record<string, string>>; patches: number } {
  const maps = new Map<string, Record<string, string>>();
  return {
    namespace: 'ns', maps, patches: 0,
    async read(name) { return maps.has(name) ? { ...maps.get(name) } : undefined; },
    async mergePatch(name, data) {
      this.patches++;
      maps.set(name, { ...(maps.get(name) ?? {}), ...data });
    },
  };
}

const layers = tinyConfig.num_hidden_layers - tinyConfig.first_k_dense_replace;
const E = tinyConfig.n_routed_experts;

/** 2 GPUs × 5 slots: experts 0..7 plus redundant copies of 0 and 1. */
function placement(version: number, slots = [0, 1, 2, 3, 0, 4, 5, 6, 7, 1]) {
  return JSON.stringify({ version, gpus: 2, slotsPerGpu: 5, phy2log: Array.from({ length: layers }, () => slots), logcnt: [], balance: { before: 1.5, after: 1.1 } });
}

test('a new placement version is applied once; a placement the engine refuses leaves the old one', async () => {
  const store = memoryStore();
  const engine = tinyEngine();
  const logs: Record<string, unknown>[] = [];
  const sync = new OperatorSync({ store, engine, role: 'decode', log: (e) => logs.push(e), placementConfigMap: 'd-placement', podName: 'd-decode-0-0', replica: 0, intervalMs: 20 });
  try {
    store.maps.set('d-placement', { prefill: placement(9), decode: placement(3) });
    await sync.start();
    assert.equal(engine.stats().placementVersion, 3);
    assert.equal(logs.filter((l) => l.msg === 'placement changed').length, 1);
    // Expert 7 missing: every logical expert needs a slot.
    store.maps.set('d-placement', { decode: placement(4, [0, 1, 2, 3, 0, 4, 5, 6, 1, 1]) });
    await eventually(() => logs.some((l) => String(l.error ?? '').includes('version 4 refused')), { what: 'the refusal to be logged' });
    assert.equal(engine.stats().placementVersion, 3);
    store.maps.set('d-placement', { decode: placement(5) });
    await eventually(() => engine.stats().placementVersion === 5, { what: 'version 5' });
    assert.deepEqual(logs.filter((l) => l.msg === 'placement changed').map((l) => l.version), [3, 5]);
  } finally {
    await sync.stop();
    await engine.close();
  }
});

test('load reports merge-patch the pod key with cumulative counts per expert and the start time', async () => {
  const store = memoryStore();
  const engine = tinyEngine();
  store.maps.set('d-load', { other: 'kept' });
  const sync = new OperatorSync({ store, engine, role: 'prefill', log: () => {}, loadConfigMap: 'd-load', podName: 'd-prefill-1-0', replica: 1, intervalMs: 20 });
  try {
    await sync.start();
    const first = JSON.parse(store.maps.get('d-load')!['d-prefill-1-0']);
    assert.deepEqual(first.counts, Array.from({ length: layers }, () => new Array(E).fill(0)));
    assert.equal(first.role, 'prefill');
    assert.equal(first.replica, 1);
    await engine.prefill({ id: 'a', promptIds: Int32Array.from([1, 2, 3, 4, 5]), params: { maxTokens: 1, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] } });
    const report = await eventually(() => {
      const r = JSON.parse(store.maps.get('d-load')!['d-prefill-1-0']);
      return r.counts.flat().some((x: number) => x > 0) ? r : undefined;
    }, { what: 'a report with counts' });
    // 5 prompt tokens × top-k experts per MoE layer.
    for (const row of report.counts) assert.equal(row.reduce((a: number, b: number) => a + b, 0), 5 * tinyConfig.num_experts_per_tok);
    assert.equal(report.startedAt, first.startedAt);
    assert.equal(store.maps.get('d-load')!.other, 'kept');
  } finally {
    await sync.stop();
    await engine.close();
  }
});

test('the router follows the routing ConfigMap and keeps the last good table when a bad one appears', async () => {
  const store = memoryStore();
  const logs: Record<string, unknown>[] = [];
  store.maps.set('d-routing', { routes: JSON.stringify({ model: 'm', prefill: [], decode: [{ replica: 0, url: 'http://10.0.0.1:8000' }] }) });
  const routes = await configMapRoutes(store, 'd-routing', 20, (e) => logs.push(e));
  try {
    assert.deepEqual(routes.current().decode, [{ replica: 0, url: 'http://10.0.0.1:8000' }]);
    store.maps.set('d-routing', { routes: JSON.stringify({ model: 'm', decode: [{ replica: 0, url: 'ftp://x' }] }) });
    await eventually(() => logs.some((l) => /decode\[0\]\.url must be an http/.test(String(l.error))), { what: 'the bad table to be refused' });
    assert.deepEqual(routes.current().decode, [{ replica: 0, url: 'http://10.0.0.1:8000' }]);
    store.maps.set('d-routing', { routes: JSON.stringify({ model: 'm', prefill: [{ replica: 0, url: 'http://10.0.0.9:8000/' }], decode: [{ replica: 1, url: 'http://10.0.0.2:8000' }] }) });
    await eventually(() => routes.current().decode[0]?.replica === 1, { what: 'the new table' });
    assert.equal(routes.current().prefill[0].url, 'http://10.0.0.9:8000');
  } finally {
    await routes.stop();
  }
});

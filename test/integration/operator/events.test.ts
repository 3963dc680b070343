// The event recorder (operator/kube/events.ts) against a real API server: events go out one request at a time from a
// bounded queue (as client-go's broadcaster sends them), in the order they were queued, and what does not fit the
// queue is dropped and reported instead of piling up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type LocalCluster } from '../../cluster/index.js';
import { EventRecorder } from '../../../operator/kube/events.js';
import { KubeClient, type RequestOptions } from '../../../operator/kube/rest.js';
import { json } from './harness.js';

const NS = 'ev';
let c: LocalCluster;

/** The real client, counting the requests it has in flight at once. */
class CountingClient extends KubeClient {
  inFlight = 0;
  maxInFlight = 0;
  override async request<T>(method: Parameters<KubeClient['request']>[0], path: string, opts: RequestOptions = {}): Promise<T> {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      return await super.request<T>(method, path, opts);
    } finally {
      this.inFlight--;
    }
  }
}

const reasonsOf = async (name: string): Promise<string[]> => {
  const items = (await json<{ items: Array<{ reason: string; metadata: { creationTimestamp: string; resourceVersion: string } }> }>(c, ['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${name}`])).items;
  return items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion)).map((e) => e.reason);
};

const configMap = async (name: string) => {
  await c.kubectl(['-n', NS, 'create', 'configmap', name]);
  return { apiVersion: 'v1', kind: 'ConfigMap', ...(await json(c, ['-n', NS, 'get', 'configmap', name])) };
};

before(async () => {
  c = await startCluster({ fleet: { spines: 1, leavesPerSpine: 1, nodesPerLeaf: 1, gpusPerNode: 8 }, runnerNodes: 0 });
  await c.kubectl(['create', 'namespace', NS]);
});

after(async () => {
  await c?.stop();
});

test('events of several objects go out one request at a time, each object\'s in order', async () => {
  const client = new CountingClient(c.kubeConfig(), 'events-test');
  const errors: unknown[] = [];
  const rec = new EventRecorder(client, 'events-test', (e) => errors.push(e));
  const a = await configMap('a');
  const b = await configMap('b');
  const ev = (reason: string) => ({ type: 'Normal' as const, reason, message: `${reason} happened` });
  await Promise.all([rec.emitAll(a, ['A0', 'A1', 'A2', 'A3'].map(ev)), rec.emitAll(b, ['B0', 'B1', 'B2', 'B3'].map(ev))]);
  assert.deepEqual(errors, []);
  assert.equal(client.maxInFlight, 1, 'never two event writes at once');
  assert.equal(rec.pending(), 0);
  assert.deepEqual(await reasonsOf('a'), ['A0', 'A1', 'A2', 'A3']);
  assert.deepEqual(await reasonsOf('b'), ['B0', 'B1', 'B2', 'B3']);
});

test('a full queue drops the events that do not fit and says which', async () => {
  const client = new CountingClient(c.kubeConfig(), 'events-test');
  const errors: Error[] = [];
  const rec = new EventRecorder(client, 'events-test', (e) => errors.push(e as Error), 3);
  const d = await configMap('d');
  await rec.emitAll(d, ['D0', 'D1', 'D2', 'D3', 'D4'].map((reason) => ({ type: 'Warning' as const, reason, message: reason })));
  assert.deepEqual(await reasonsOf('d'), ['D0', 'D1', 'D2']);
  assert.deepEqual(errors.map((e) => e.message), ['event queue full (3); dropped D3 for ev/d', 'event queue full (3); dropped D4 for ev/d']);
});

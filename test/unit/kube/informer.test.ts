import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer, type WatchLike } from '../../../operator/kube/informer.js';
import { resourcePath } from '../../../operator/kube/rest.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace: string; resourceVersion: string } };
const obj = (name: string, rv: string): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', resourceVersion: rv } });

/** A scripted watch: each call takes the next script step. */
function fakeWatch(steps: Array<(cb: (phase: string, o: any) => void, done: (err: any) => void) => void>) {
  let calls = 0;
  const queries: Array<Record<string, unknown>> = [];
  const w: WatchLike = {
    async watch(_path, query, cb, done) {
      queries.push(query);
      const step = steps[calls++];
      if (step) setTimeout(() => step(cb, done), 5);
      return new AbortController();
    },
  };
  return { w, queries, calls: () => calls };
}

const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('a 410 Gone during the watch leads to a relist from scratch', async () => {
  let lists = 0;
  const listed = [[obj('a', '1')], [obj('a', '5'), obj('b', '6')]];
  const fw = fakeWatch([
    (cb, done) => {
      cb('ERROR', { code: 410, metadata: {} });
      done(null);
    },
  ]);
  const inf = new Informer<Obj>({
    path: '/api/v1/pods',
    list: async () => ({ metadata: { resourceVersion: String(lists + 1) }, items: listed[Math.min(lists++, 1)]! }) as any,
    watch: fw.w,
  });
  const adds: string[] = [];
  inf.on('add', (o) => adds.push(o.metadata.name));
  await inf.start();
  await until(() => lists === 2);
  await until(() => inf.list().length === 2);
  await inf.stop();
  assert.deepEqual(adds.sort(), ['a', 'b']);
  assert.equal(inf.get('a', 'ns')!.metadata.resourceVersion, '5');
});

test('a watch error that ListWatch gives up on is restarted with backoff, and deletes missed meanwhile are delivered', async () => {
  let lists = 0;
  const fw = fakeWatch([(_cb, done) => done(Object.assign(new Error('connection reset'), { statusCode: 500 }))]);
  const inf = new Informer<Obj>({
    path: '/api/v1/pods',
    list: async () => ({ metadata: { resourceVersion: '9' }, items: lists++ === 0 ? [obj('a', '1'), obj('gone', '2')] : [obj('a', '1')] }) as any,
    watch: fw.w,
    restartBaseMs: 10,
  });
  const deleted: string[] = [];
  const errors: unknown[] = [];
  inf.on('delete', (o) => deleted.push(o.metadata.name));
  (inf as any).opts.onError = (e: unknown) => errors.push(e);
  await inf.start();
  await until(() => inf.restarts === 1 && lists === 2);
  await until(() => deleted.length === 1);
  await inf.stop();
  assert.equal(errors.length, 1);
  assert.deepEqual(deleted, ['gone']);
  assert.deepEqual(inf.list().map((o) => o.metadata.name), ['a']);
});

test('a stalled watch (no events, no reconnect) is torn down and relisted', async () => {
  let lists = 0;
  const fw = fakeWatch([]); // never sends anything and never ends
  const inf = new Informer<Obj>({
    path: '/api/v1/pods',
    list: async () => (lists++, { metadata: { resourceVersion: '1' }, items: [obj('a', '1')] }) as any,
    watch: fw.w,
    stallMs: 100,
  });
  await inf.start();
  await until(() => inf.restarts >= 1 && lists >= 2, 3000);
  await inf.stop();
  assert.ok(fw.calls() >= 2);
});

test('resourcePath builds core, group, namespaced and subresource paths and names the fix for unknown kinds', () => {
  assert.equal(resourcePath('v1', 'Pod', 'ns', 'p'), '/api/v1/namespaces/ns/pods/p');
  assert.equal(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', 'ns', 'j', 'status'), '/apis/moe.io/v1alpha1/namespaces/ns/moetrainingjobs/j/status');
  assert.equal(resourcePath('moe.io/v1alpha1', 'ClusterTopology', undefined, 'default'), '/apis/moe.io/v1alpha1/clustertopologies/default');
  assert.throws(() => resourcePath('v1', 'Secret'), /add its plural to PLURALS/);
});

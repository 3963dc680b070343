import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Informer, afterWatch, applyWatchEvent, relistDiff, type Store, type WatchLike } from '../../../operator/kube/informer.js';
import { PROJECT_KINDS } from '../../../operator/controllers/kinds.js';
import { registerKinds, resourcePath } from '../../../operator/kube/rest.js';

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

test('after a watch error the cache keeps serving its last good state until the relist has returned, then swaps at once', async () => {
  let lists = 0;
  let releaseRelist!: () => void;
  const relistGate = new Promise<void>((r) => (releaseRelist = r));
  // The watch drops (the API server went away); the relist then hangs until the test lets it return.
  const fw = fakeWatch([(_cb, done) => done(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))]);
  const inf = new Informer<Obj>({
    path: '/api/v1/pods',
    list: async () => {
      if (lists++ === 0) return { metadata: { resourceVersion: '3' }, items: [obj('a', '1'), obj('b', '2'), obj('gone', '3')] } as any;
      await relistGate;
      return { metadata: { resourceVersion: '9' }, items: [obj('a', '1'), obj('b', '7')] } as any;
    },
    watch: fw.w,
    restartBaseMs: 5,
  });
  const events: string[] = [];
  inf.on('add', (o) => events.push(`add ${o.metadata.name}`));
  inf.on('update', (o) => events.push(`update ${o.metadata.name}`));
  inf.on('delete', (o) => events.push(`delete ${o.metadata.name}`));
  await inf.start();
  events.length = 0;
  await until(() => lists === 2); // the relist is in flight
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(inf.hasSynced(), 'a relist never makes a synced cache unsynced');
  assert.deepEqual(inf.list().map((o) => o.metadata.name).sort(), ['a', 'b', 'gone'], 'the last good state is served meanwhile');
  assert.equal(inf.get('a', 'ns')?.metadata.resourceVersion, '1');
  assert.deepEqual(events, [], 'nothing is reported gone before the list says so');
  releaseRelist();
  await until(() => inf.lists === 2);
  await inf.stop();
  assert.deepEqual(inf.list().map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort(), ['a@1', 'b@7']);
  assert.deepEqual(events, ['delete gone', 'update b'], 'only real differences are delivered; unchanged a is not');
});

test('relistDiff: the new store holds exactly the list; adds, updates (resourceVersion changed) and deletes against the old', () => {
  const old: Store<Obj> = new Map([['ns', new Map([['a', obj('a', '1')], ['b', obj('b', '2')], ['c', obj('c', '3')]])]]);
  const r = relistDiff(old, [obj('a', '1'), obj('b', '5'), obj('d', '6')]);
  assert.deepEqual([...r.store.get('ns')!.keys()].sort(), ['a', 'b', 'd']);
  assert.deepEqual(r.added.map((o) => o.metadata.name), ['d']);
  assert.deepEqual(r.updated.map((o) => o.metadata.name), ['b']);
  assert.deepEqual(r.deleted.map((o) => o.metadata.name), ['c']);
  assert.equal(old.get('ns')!.size, 3, 'the old store is left alone (it is what readers see until the swap)');
  const empty = relistDiff(old, []);
  assert.equal(empty.store.size, 0);
  assert.equal(empty.deleted.length, 3, 'an empty list from the server really means everything is gone');
});

test('applyWatchEvent: add, update, same-version no-op, delete (and deleting the unknown is no event)', () => {
  const s: Store<Obj> = new Map();
  assert.equal(applyWatchEvent(s, 'ADDED', obj('a', '1')), 'add');
  assert.equal(applyWatchEvent(s, 'MODIFIED', obj('a', '1')), undefined);
  assert.equal(applyWatchEvent(s, 'MODIFIED', obj('a', '2')), 'update');
  assert.equal(applyWatchEvent(s, 'DELETED', obj('x', '3')), undefined);
  assert.equal(applyWatchEvent(s, 'DELETED', obj('a', '4')), 'delete');
  assert.equal(s.size, 0);
});

test('afterWatch: normal closes and client timeouts resume the watch, 410 relists at once, other errors and stalls back off', () => {
  assert.equal(afterWatch({}), 'rewatch');
  assert.equal(afterWatch({ err: Object.assign(new Error('t'), { name: 'TimeoutError' }) }), 'rewatch');
  assert.equal(afterWatch({ gone: true }), 'relist');
  assert.equal(afterWatch({ err: { statusCode: 410 } }), 'relist');
  assert.equal(afterWatch({ err: new Error('connect ECONNREFUSED 127.0.0.1:6443') }), 'backoff');
  assert.equal(afterWatch({ stalled: true, err: new Error('stall') }), 'backoff');
});

test('one informer over several namespaces: readers see the union, and one namespace relisting leaves the others alone', async () => {
  const objIn = (ns: string, name: string, rv: string) => ({ ...obj(name, rv), metadata: { name, namespace: ns, resourceVersion: rv } });
  let bLists = 0;
  const fw = fakeWatch([]);
  const paths: string[] = [];
  const w: WatchLike = { watch: (path, q, cb, done) => (paths.push(path), fw.w.watch(path, q, cb, done)) };
  const inf = new Informer<Obj>({
    sources: [
      { path: '/api/v1/namespaces/a/pods', list: async () => ({ metadata: { resourceVersion: '1' }, items: [objIn('a', 'p', '1')] }) as any },
      { path: '/api/v1/namespaces/b/pods', list: async () => ({ metadata: { resourceVersion: '2' }, items: bLists++ === 0 ? [objIn('b', 'q', '2')] : [] }) as any },
    ],
    watch: w,
  });
  const deleted: string[] = [];
  inf.on('delete', (o) => deleted.push(`${o.metadata.namespace}/${o.metadata.name}`));
  await inf.start();
  assert.ok(inf.hasSynced());
  assert.deepEqual(inf.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort(), ['a/p', 'b/q']);
  assert.equal(inf.get('q', 'b')?.metadata.name, 'q');
  assert.deepEqual(inf.list('a').map((o) => o.metadata.name), ['p']);
  assert.deepEqual(paths.sort(), ['/api/v1/namespaces/a/pods', '/api/v1/namespaces/b/pods'], 'one watch per namespace, none cluster-wide');
  // Namespace b's watch fails and its relist finds q gone: only b/q is deleted.
  await (inf as any).reflectors[1].finishWatch({ err: new Error('reset') });
  await until(() => bLists === 2 && deleted.length === 1);
  await inf.stop();
  assert.deepEqual(deleted, ['b/q']);
  assert.deepEqual(inf.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['a/p']);
});

test('resourcePath builds core, group, namespaced and subresource paths and names the fix for unknown kinds', () => {
  assert.throws(() => resourcePath('moe.io/v1alpha1', 'InferenceRole'), /register it with registerKinds/, 'the framework knows no kinds of the project');
  registerKinds(PROJECT_KINDS); // what the controllers' wiring registers (operator/controllers/kinds.ts)
  assert.equal(resourcePath('v1', 'Pod', 'ns', 'p'), '/api/v1/namespaces/ns/pods/p');
  assert.equal(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', 'ns', 'j', 'status'), '/apis/moe.io/v1alpha1/namespaces/ns/moetrainingjobs/j/status');
  assert.equal(resourcePath('moe.io/v1alpha1', 'ClusterTopology', undefined, 'default'), '/apis/moe.io/v1alpha1/clustertopologies/default');
  assert.throws(() => resourcePath('v1', 'Secret'), /add its plural to PLURALS/);
});

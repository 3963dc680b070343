// Issue 19 item 9: a reconcile never concludes that pods, nodes or topologies are missing from a cache that has not
// listed yet; it looks again later and touches nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfdReconciler } from '../../../operator/controllers/infd/reconciler.js';
import { MtjReconciler } from '../../../operator/controllers/mtj/reconciler.js';
import { silentLogger } from '../../../operator/kube/log.js';
import { makeJob } from './fixtures.js';
import { makeDeployment } from './infd-fixtures.js';

/** A cache with fixed contents and a synced flag. */
function cache(items: any[], synced = true) {
  return {
    hasSynced: () => synced,
    get: (name: string, ns?: string) => items.find((o) => o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns)),
    list: (ns?: string) => items.filter((o) => !ns || o.metadata.namespace === ns),
  } as any;
}

/** A client that records every call: there must be none. */
function recordingClient(calls: string[]) {
  return new Proxy({}, { get: (_t, prop) => async () => { calls.push(String(prop)); return {}; } }) as any;
}

const deps = (calls: string[]) => ({
  client: recordingClient(calls),
  recorder: { emitAll: async () => calls.push('event') } as any,
  metrics: new Proxy({}, { get: () => new Proxy({}, { get: () => () => undefined }) }) as any,
  log: silentLogger(),
});

test('a training job is not reconciled while its pod cache has not listed: requeued, nothing written', async () => {
  const calls: string[] = [];
  const job = makeJob('a').obj();
  job.status = { phase: 'Running', startTime: new Date().toISOString(), attempt: 0 } as any;
  const r = new MtjReconciler({
    ...deps(calls),
    jobs: cache([job]),
    pods: cache([], false),
    configMaps: cache([]),
    nodes: cache([]),
    topologies: cache([]),
    plan: () => assert.fail('must not plan from an unsynced cache'),
  });
  const res = await r.reconcile('team/a', new AbortController().signal);
  assert.deepEqual(res, { requeueAfterMs: 1000 });
  assert.deepEqual(calls, []);
});

test('an inference deployment is not reconciled while its node cache has not listed: requeued, nothing written', async () => {
  const calls: string[] = [];
  const dep = makeDeployment('d').obj();
  const r = new InfdReconciler({
    ...deps(calls),
    deployments: cache([dep]),
    roles: cache([]),
    pods: cache([]),
    configMaps: cache([]),
    nodes: cache([], false),
    topologies: cache([]),
    jobs: cache([]),
  } as any);
  const res = await r.reconcile(`${dep.metadata!.namespace}/d`, new AbortController().signal);
  assert.deepEqual(res, { requeueAfterMs: 1000 });
  assert.deepEqual(calls, []);
});

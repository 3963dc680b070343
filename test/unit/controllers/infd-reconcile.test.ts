// InfdReconciler applies decide()'s result against fixed caches and a client that records every call: the writes in
// order, the deployment's status written once and last; a refused pod create leaves the InferenceRoles' status alone
// and reports no "started replica" event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node } from '@kubernetes/client-node';
import { PROJECT_KINDS } from '../../../operator/controllers/kinds.js';
import { InfdReconciler } from '../../../operator/controllers/infd/reconciler.js';
import { silentLogger } from '../../../operator/kube/log.js';
import { ApiError, registerKinds, type KubeClient } from '../../../operator/kube/rest.js';
import type { PendingEvent } from '../../../operator/kube/events.js';
import { defaultTopology, fleetNodes } from '../../../operator/plan/placement/fleet.js';
import { makeDeployment } from './infd-fixtures.js';

registerKinds(PROJECT_KINDS);

function cache(items: any[]) {
  return {
    hasSynced: () => true,
    get: (name: string, ns?: string) => items.find((o) => o.metadata.name === name && (ns === undefined || (o.metadata.namespace ?? '') === ns)),
    list: (ns?: string) => items.filter((o) => !ns || o.metadata.namespace === ns),
  } as any;
}

/** A client that records each write as `VERB kind/name[/subresource]`; reads find nothing; `refuse` fails a create. */
function recordingClient(calls: string[], refuse?: (path: string, body: any) => boolean): KubeClient {
  const what = (path: string) => path.replace(/^.*\/namespaces\/team\//, '');
  return {
    fieldManager: 'moe-operator',
    async request(method: string, path: string, opts: { body?: any; query?: Record<string, unknown> } = {}) {
      if (method === 'POST' && refuse?.(path, opts.body)) throw new ApiError(403, 'Forbidden', 'forbidden', { message: 'violates PodSecurity' });
      calls.push(`${method} ${what(path)}${method === 'POST' ? `/${opts.body?.metadata?.name}` : ''}`);
      return opts.body;
    },
    async get(path: string) {
      throw new ApiError(404, 'NotFound', `GET ${path}: 404`);
    },
    async apply(obj: any, opts: { subresource?: string } = {}) {
      calls.push(`APPLY ${obj.kind}/${obj.metadata.name}${opts.subresource ? `/${opts.subresource}` : ''}`);
      return obj;
    },
    async mergePatch(path: string) {
      calls.push(`MERGE ${what(path)}`);
      return {};
    },
    async delete(path: string) {
      calls.push(`DELETE ${what(path)}`);
    },
  } as unknown as KubeClient;
}

const nodes: V1Node[] = fleetNodes({ spines: 1, leavesPerSpine: 1, nodesPerLeaf: 8, gpusPerNode: 8 }).map((n) => ({
  metadata: { name: n.name, labels: n.labels },
  status: { allocatable: { 'nvidia.com/gpu': '8' }, conditions: [{ type: 'Ready', status: 'True' }] },
}));

function reconciler(calls: string[], events: PendingEvent[], refuse?: (path: string, body: any) => boolean) {
  const dep = makeDeployment('s').obj();
  return new InfdReconciler({
    client: recordingClient(calls, refuse),
    deployments: cache([dep]),
    roles: cache([]),
    pods: cache([]),
    configMaps: cache([]),
    nodes: cache(nodes),
    topologies: cache([{ apiVersion: 'moe.io/v1alpha1', kind: 'ClusterTopology', metadata: { name: 'default' }, spec: defaultTopology(8) }]),
    jobs: cache([]),
    recorder: { emitAll: async (_o: unknown, evs: PendingEvent[]) => void events.push(...evs) } as any,
    log: silentLogger(),
    now: () => new Date('2026-01-01T00:00:00Z'),
  });
}

test('a new deployment: shared children, InferenceRoles, gangs created and released, router, routes; status once, last', async () => {
  const calls: string[] = [];
  const events: PendingEvent[] = [];
  const res = await reconciler(calls, events).reconcile('team/s', new AbortController().signal);
  assert.deepEqual(res, { requeueAfterMs: 2000 });
  const gate = (p: string) => `PATCH pods/${p}`;
  assert.deepEqual(calls, [
    // Shared children at once, RoleBindings in a second wave (child-writer.ts: the escalation check needs the Role).
    'APPLY Service/s-pods', 'APPLY Service/s', 'APPLY ConfigMap/s-expert-load', 'APPLY ServiceAccount/s-router', 'APPLY Role/s-router',
    'APPLY ServiceAccount/s-leader', 'APPLY Role/s-leader', 'APPLY ConfigMap/s-placement', 'APPLY RoleBinding/s-router', 'APPLY RoleBinding/s-leader',
    'POST inferenceroles/s-prefill', 'POST inferenceroles/s-decode',
    'POST pods/s-prefill-0-0', gate('s-prefill-0-0'),
    'POST pods/s-decode-0-0', 'POST pods/s-decode-0-1', gate('s-decode-0-0'), gate('s-decode-0-1'),
    'POST pods/s-decode-1-0', 'POST pods/s-decode-1-1', gate('s-decode-1-0'), gate('s-decode-1-1'),
    'POST pods/s-router-0',
    'APPLY ConfigMap/s-routing',
    'APPLY InferenceDeployment/s/status',
  ]);
  assert.deepEqual(events.filter((e) => e.reason === 'ScaledUp').map((e) => e.message), ['prefill: started replica 0 (desired 1)', 'decode: started replica 0 (desired 2)', 'decode: started replica 1 (desired 2)']);
});

test('a refused pod create: WriteFailed status written once, no InferenceRole status, no "started replica" for it', async () => {
  const calls: string[] = [];
  const events: PendingEvent[] = [];
  const refuse = (path: string, body: any) => path.endsWith('/pods') && body?.metadata?.name === 's-decode-0-1';
  const res = await reconciler(calls, events, refuse).reconcile('team/s', new AbortController().signal);
  assert.deepEqual(res, { requeueAfterMs: 5000 });
  assert.deepEqual(calls.filter((c) => c.includes('status')), ['APPLY InferenceDeployment/s/status']);
  assert.ok(calls.includes('DELETE pods/s-decode-0-0'), 'half a gang is deleted again');
  assert.ok(!calls.some((c) => c.startsWith('POST pods/s-decode-1-')), 'nothing after the refused write');
  assert.deepEqual(events.filter((e) => e.reason === 'ScaledUp').map((e) => e.message), ['prefill: started replica 0 (desired 1)']);
  assert.deepEqual(events.filter((e) => e.type === 'Warning').map((e) => e.reason), ['FailedCreate']);
});

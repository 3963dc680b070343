// Taking the operator's scheduling gate off a pod (the gang release): one request per pod that touches no one else's
// gate (a queueing system such as Kueue may hold its own gate on the same pod).
import type { V1Pod } from '@kubernetes/client-node';
import { FIELD_MANAGER, SCHEDULING_GATE } from '../api/constants.js';
import { mapLimit } from '../kube/concurrency.js';
import { pathOf, type KubeClient } from '../kube/rest.js';
import { childWriteError } from './children.js';

/** Gate removals in flight per gang, as for creates: within the API server's default priority-and-fairness share. */
export const RELEASE_IN_FLIGHT = 32;

/** The strategic-merge delete directive: removes the gate wherever it is, a no-op once it is gone. A JSON patch
 *  (test + remove at the gate's index) is no cheaper for the API server (bench/operator/client.bench.ts). */
export const GATE_PATCH = { spec: { schedulingGates: [{ name: SCHEDULING_GATE, $patch: 'delete' }] } };

export const isGated = (p: V1Pod): boolean => (p.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE);

/** Removes the gate from each pod that shows it, RELEASE_IN_FLIGHT at a time. */
export async function releaseGates(client: KubeClient, pods: readonly V1Pod[], signal?: AbortSignal): Promise<void> {
  await mapLimit(pods.filter(isGated), RELEASE_IN_FLIGHT, async (p) => {
    const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: p.metadata!.name!, namespace: p.metadata!.namespace! } };
    await client
      .request('PATCH', pathOf(obj), { body: GATE_PATCH, contentType: 'application/strategic-merge-patch+json', query: { fieldManager: FIELD_MANAGER }, ...(signal ? { signal } : {}) })
      .catch((e: unknown) => {
        throw childWriteError('patch', obj, e);
      });
  });
}

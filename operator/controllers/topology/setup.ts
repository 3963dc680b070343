// Keeps each ClusterTopology's status.levels (the LEVELS column of `kubectl get clustertopology`) equal to its
// spec.levels names. One informer, one merge patch of the status subresource when they differ; runs on the leader.
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, TOPOLOGY_KIND } from '../../api/constants.js';
import type { IClusterTopology } from '../../api/types.gen.js';
import { Controller } from '../../kube/controller.js';
import { makeInformer, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import type { OperatorMetrics } from '../../kube/metrics.js';
import { isNotFound, resourcePath, type KubeClient } from '../../kube/rest.js';
import { topologyStatusPatch } from './levels.js';

export interface TopologyControllerOptions {
  kc: KubeConfig;
  client: KubeClient;
  metrics: OperatorMetrics;
  log: Logger;
}

export class TopologyController {
  readonly controller: Controller;
  readonly topologies: Informer<IClusterTopology & { metadata: any }>;

  constructor(o: TopologyControllerOptions) {
    const { kc, client, metrics, log } = o;
    this.topologies = makeInformer<IClusterTopology & { metadata: any }>(kc, client, resourcePath(API_VERSION, TOPOLOGY_KIND), {
      onError: (err: unknown, inMs: number) => {
        metrics.watchRestarts.inc({ resource: 'clustertopologies' });
        log.warn('watch failed; restarting', { resource: 'clustertopologies', err: String(err), restartInMs: inMs });
      },
    });
    this.controller = new Controller(
      {
        name: 'clustertopology',
        workers: 1,
        hooks: {
          onResult: (key, outcome, secs, err) => {
            metrics.reconciles.inc({ kind: TOPOLOGY_KIND, outcome });
            metrics.reconcileSeconds.observe({ kind: TOPOLOGY_KIND }, secs);
            if (err) log.warn('reconcile failed', { key, outcome, err: String(err) });
          },
        },
      },
      async (name, signal) => {
        const topo = this.topologies.get(name);
        const patch = topo && topologyStatusPatch(topo);
        if (!patch) return;
        try {
          await client.request('PATCH', resourcePath(API_VERSION, TOPOLOGY_KIND, undefined, name, 'status'), { body: patch, contentType: 'application/merge-patch+json', signal });
        } catch (e) {
          if (!isNotFound(e)) throw e; // deleted meanwhile
        }
      },
    );
    this.topologies.onAny((t) => t.metadata?.name && this.controller.queue.add(t.metadata.name));
  }

  async sync(): Promise<void> {
    await this.topologies.start();
  }

  synced(): boolean {
    return this.topologies.hasSynced();
  }

  run(): void {
    this.controller.start();
    for (const t of this.topologies.list()) if (t.metadata?.name) this.controller.queue.add(t.metadata.name);
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.topologies.stop();
  }
}

// Keeps each ClusterTopology's status.levels (the LEVELS column of `kubectl get clustertopology`) equal to its
// spec.levels names. One informer, one merge patch of the status subresource when they differ; runs on the leader.
import { API_VERSION, TOPOLOGY_KIND } from '../../api/constants.js';
import type { IClusterTopology } from '../../api/types.gen.js';
import type { Controller } from '../../kube/controller.js';
import type { Informer } from '../../kube/informer.js';
import { isNotFound, resourcePath } from '../../kube/rest.js';
import { WiredController, type Cached, type WiringOptions } from '../../kube/wiring.js';
import { PROJECT_KINDS } from '../kinds.js';
import { topologyStatusPatch } from './levels.js';

/** Cluster-scoped: the watched namespaces do not apply. */
export type TopologyControllerOptions = Omit<WiringOptions, 'namespaces'>;

export class TopologyController extends WiredController {
  readonly controller: Controller;
  readonly topologies: Informer<Cached<IClusterTopology>>;

  constructor(o: TopologyControllerOptions) {
    super({ ...o, kinds: PROJECT_KINDS });
    const { client } = o;
    const w = this.wiring;
    this.topologies = w.clusterScoped<IClusterTopology>(API_VERSION, TOPOLOGY_KIND);
    this.controller = w.controller('clustertopology', TOPOLOGY_KIND, async (name, signal) => {
      const topo = this.topologies.get(name);
      const patch = topo && topologyStatusPatch(topo);
      if (!patch) return;
      try {
        await client.request('PATCH', resourcePath(API_VERSION, TOPOLOGY_KIND, undefined, name, 'status'), { body: patch, contentType: 'application/merge-patch+json', signal });
      } catch (e) {
        if (!isNotFound(e)) throw e; // deleted meanwhile
      }
    }, { workers: 1 });
    this.topologies.onAny((t) => t.metadata?.name && this.controller.queue.add(t.metadata.name));
  }

  run(): void {
    this.wiring.run(this.controller, () => this.topologies.list().flatMap((t) => (t.metadata?.name ? [t.metadata.name] : [])));
  }
}

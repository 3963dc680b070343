// Wires the InferenceDeployment controller: informers for deployments, their InferenceRoles, pods and ConfigMaps,
// nodes, topologies and training jobs; event handlers that map every change to the owning deployment's key; a
// periodic resync. The informer, work-queue and resync plumbing is the framework's (kube/wiring.ts).
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, INFD_KIND, INFROLE_KIND, InfdLabels, MTJ_KIND, TOPOLOGY_KIND } from '../../api/constants.js';
import type { IClusterTopology, IInferenceDeployment, IInferenceRole, IMoETrainingJob } from '../../api/types.gen.js';
import type { Controller } from '../../kube/controller.js';
import type { Informer } from '../../kube/informer.js';
import { WiredController, keyOf, type Cached, type SetupOptions } from '../../kube/wiring.js';
import { PROJECT_KINDS } from '../kinds.js';
import { watchedNamespaces } from '../namespaces.js';
import { InfdReconciler } from './reconciler.js';

export type InfdControllerOptions = SetupOptions;

export class InfdController extends WiredController {
  readonly controller: Controller;
  readonly deployments: Informer<Cached<IInferenceDeployment>>;

  constructor(private readonly o: InfdControllerOptions) {
    super({ ...o, namespaces: watchedNamespaces(o), kinds: PROJECT_KINDS });
    const { client, log } = o;
    const w = this.wiring;
    this.deployments = w.namespaced<IInferenceDeployment>(API_VERSION, INFD_KIND);
    const roles = w.namespaced<IInferenceRole>(API_VERSION, INFROLE_KIND, InfdLabels.deployment);
    // Every pod the operator manages (training and serving) where it works: placement must count the GPUs of both.
    const pods = w.namespaced<V1Pod>('v1', 'Pod', `${InfdLabels.managedBy}=${FIELD_MANAGER}`);
    const configMaps = w.namespaced<V1ConfigMap>('v1', 'ConfigMap', InfdLabels.deployment);
    const nodes = w.clusterScoped<V1Node>('v1', 'Node');
    const topologies = w.clusterScoped<IClusterTopology>(API_VERSION, TOPOLOGY_KIND);
    const jobs = w.namespaced<IMoETrainingJob>(API_VERSION, MTJ_KIND);

    const reconciler = new InfdReconciler({
      client,
      deployments: this.deployments,
      roles,
      pods,
      configMaps,
      nodes,
      topologies,
      jobs,
      recorder: w.recorder(FIELD_MANAGER),
      log,
    });
    this.controller = w.controller('inferencedeployment', INFD_KIND, (key, signal) => reconciler.reconcile(key, signal), { workers: o.workers ?? 4, timeoutMs: o.timeoutMs ?? 60_000 });

    const q = this.controller.queue;
    this.deployments.onAny((d) => q.add(keyOf(d)));
    w.enqueueByLabel(this.controller, InfdLabels.deployment, roles, pods, configMaps);
    // A training job finishing (or changing) releases the deployments that serve it.
    jobs.onAny((j) => {
      for (const d of this.deployments.list(j.metadata?.namespace)) if (d.spec.model?.trainingJob?.name === j.metadata?.name) q.add(keyOf(d));
    });
    const all = () => {
      for (const d of this.deployments.list()) q.add(keyOf(d));
    };
    nodes.on('delete', all);
    topologies.onAny(all);
  }

  run(): void {
    this.wiring.run(this.controller, () => this.deployments.list().map(keyOf), this.o.resyncMs ?? 30_000);
  }
}

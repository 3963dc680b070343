// Wires the InferenceDeployment controller: informers for deployments, their InferenceRoles, pods and ConfigMaps,
// nodes, topologies and training jobs; event handlers that map every change to the owning deployment's key; a
// periodic resync.
import type { KubeConfig, V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, INFD_KIND, INFROLE_KIND, InfdLabels, MTJ_KIND, TOPOLOGY_KIND } from '../../api/constants.js';
import type { IClusterTopology, IInferenceDeployment, IInferenceRole, IMoETrainingJob } from '../../api/types.gen.js';
import { Controller } from '../../kube/controller.js';
import { EventRecorder } from '../../kube/events.js';
import { makeInformer, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import type { OperatorMetrics } from '../../kube/metrics.js';
import { resourcePath, type KubeClient } from '../../kube/rest.js';
import { clampTimerMs } from '../../kube/timers.js';
import { watchedNamespaces } from '../namespaces.js';
import { InfdReconciler } from './reconciler.js';

export interface InfdControllerOptions {
  kc: KubeConfig;
  client: KubeClient;
  metrics: OperatorMetrics;
  log: Logger;
  workers?: number;
  timeoutMs?: number;
  resyncMs?: number;
  /** Restrict to one namespace (tests); all namespaces when absent. */
  namespace?: string;
  /** Watch only these namespaces (one informer source each; the chart's watchNamespaces); all when absent or empty. */
  namespaces?: readonly string[];
}

export class InfdController {
  readonly controller: Controller;
  readonly informers: Array<Informer<any>>;
  readonly deployments: Informer<IInferenceDeployment & { metadata: any }>;
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly o: InfdControllerOptions) {
    const { kc, client, metrics, log } = o;
    const nss = watchedNamespaces(o);
    // One path per watched namespace, or one cluster-wide path.
    const inNs = (apiVersion: string, kind: string) => (nss ? nss.map((n) => resourcePath(apiVersion, kind, n)) : resourcePath(apiVersion, kind));
    const onError = (resource: string) => (err: unknown, inMs: number) => {
      metrics.watchRestarts.inc({ resource });
      log.warn('watch failed; restarting', { resource, err: String(err), restartInMs: inMs });
    };
    const mk = <T>(path: string | string[], resource: string, labelSelector?: string) =>
      makeInformer<T & { metadata: any; apiVersion?: string; kind?: string }>(kc, client, path, { onError: onError(resource), ...(labelSelector ? { labelSelector } : {}) });
    this.deployments = mk<IInferenceDeployment>(inNs(API_VERSION, INFD_KIND), 'inferencedeployments');
    const roles = mk<IInferenceRole>(inNs(API_VERSION, INFROLE_KIND), 'inferenceroles', InfdLabels.deployment);
    // Every pod the operator manages (training and serving) where it works: placement must count the GPUs of both.
    const pods = mk<V1Pod>(inNs('v1', 'Pod'), 'pods', `${InfdLabels.managedBy}=${FIELD_MANAGER}`);
    const configMaps = mk<V1ConfigMap>(inNs('v1', 'ConfigMap'), 'configmaps', InfdLabels.deployment);
    const nodes = mk<V1Node>(resourcePath('v1', 'Node'), 'nodes');
    const topologies = mk<IClusterTopology>(resourcePath(API_VERSION, TOPOLOGY_KIND), 'clustertopologies');
    const jobs = mk<IMoETrainingJob>(inNs(API_VERSION, MTJ_KIND), 'moetrainingjobs');
    this.informers = [this.deployments, roles, pods, configMaps, nodes, topologies, jobs];

    const reconciler = new InfdReconciler({
      client,
      deployments: this.deployments,
      roles,
      pods,
      configMaps,
      nodes,
      topologies,
      jobs,
      recorder: new EventRecorder(client, 'moe-operator', (e) => log.warn('event not recorded', { err: String(e) })),
      metrics,
      log,
    });
    this.controller = new Controller(
      {
        name: 'inferencedeployment',
        workers: o.workers ?? 4,
        timeoutMs: o.timeoutMs ?? 60_000,
        hooks: {
          onResult: (key, outcome, secs, err) => {
            metrics.reconciles.inc({ kind: INFD_KIND, outcome });
            metrics.reconcileSeconds.observe({ kind: INFD_KIND }, secs);
            if (err) log.warn('reconcile failed', { key, kind: INFD_KIND, outcome, err: String(err) });
          },
        },
      },
      (key, signal) => reconciler.reconcile(key, signal),
    );

    const q = this.controller.queue;
    const keyOf = (x: { metadata?: { namespace?: string; name?: string } }) => `${x.metadata?.namespace}/${x.metadata?.name}`;
    this.deployments.onAny((d) => q.add(keyOf(d)));
    const byLabel = (x: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
      const d = x.metadata?.labels?.[InfdLabels.deployment];
      if (d && (!nss || nss.includes(x.metadata?.namespace ?? ''))) q.add(`${x.metadata?.namespace}/${d}`);
    };
    roles.onAny(byLabel);
    pods.onAny(byLabel);
    configMaps.onAny(byLabel);
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

  /** Starts the caches (waits for them to sync); reconciling starts with `run()` (only on the leader). */
  async sync(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  synced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  run(): void {
    this.controller.start();
    const all = () => {
      for (const d of this.deployments.list()) this.controller.queue.add(`${d.metadata?.namespace}/${d.metadata?.name}`);
    };
    all();
    this.resync = setInterval(all, Math.max(1, clampTimerMs(this.o.resyncMs ?? 30_000)));
    this.resync.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await this.controller.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

// Wires the MoETrainingJob controller: informers for the job, its children, nodes and topologies, event handlers that
// map every change to the owning job's key, a periodic resync, and the metrics hooks.
import type { KubeConfig, V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, Labels, MTJ_KIND, TOPOLOGY_KIND } from '../../api/constants.js';
import type { IClusterTopology, IMoETrainingJob } from '../../api/types.gen.js';
import { Controller } from '../../kube/controller.js';
import { EventRecorder } from '../../kube/events.js';
import { makeInformer, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import type { OperatorMetrics } from '../../kube/metrics.js';
import { resourcePath, type KubeClient } from '../../kube/rest.js';
import { clampTimerMs } from '../../kube/timers.js';
import { watchedNamespaces } from '../namespaces.js';
import { MtjReconciler, type PlanFn } from './reconciler.js';

export interface MtjControllerOptions {
  kc: KubeConfig;
  client: KubeClient;
  plan: PlanFn;
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

export class MtjController {
  readonly controller: Controller;
  readonly informers: Array<Informer<any>>;
  private resync: NodeJS.Timeout | undefined;
  readonly jobs: Informer<IMoETrainingJob & { metadata: any }>;

  constructor(private readonly o: MtjControllerOptions) {
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
    this.jobs = mk<IMoETrainingJob>(inNs(API_VERSION, MTJ_KIND), 'moetrainingjobs');
    // Every pod the operator manages (training and serving): the planner must count the GPUs of both.
    const pods = mk<V1Pod>(inNs('v1', 'Pod'), 'pods', `${Labels.managedBy}=${FIELD_MANAGER}`);
    const configMaps = mk<V1ConfigMap>(inNs('v1', 'ConfigMap'), 'configmaps', Labels.job);
    const nodes = mk<V1Node>(resourcePath('v1', 'Node'), 'nodes');
    const topologies = mk<IClusterTopology>(resourcePath(API_VERSION, TOPOLOGY_KIND), 'clustertopologies');
    this.informers = [this.jobs, pods, configMaps, nodes, topologies];

    const reconciler = new MtjReconciler({
      client,
      jobs: this.jobs,
      pods,
      configMaps,
      nodes,
      topologies,
      plan: o.plan,
      recorder: new EventRecorder(client, 'moe-operator', (e) => log.warn('event not recorded', { err: String(e) })),
      metrics,
      log,
    });
    this.controller = new Controller(
      {
        name: 'moetrainingjob',
        workers: o.workers ?? 8,
        timeoutMs: o.timeoutMs ?? 60_000,
        hooks: {
          onResult: (key, outcome, secs, err) => {
            metrics.reconciles.inc({ kind: MTJ_KIND, outcome });
            metrics.reconcileSeconds.observe({ kind: MTJ_KIND }, secs);
            if (err) log.warn('reconcile failed', { key, outcome, err: String(err) });
          },
        },
      },
      (key, signal) => reconciler.reconcile(key, signal),
    );

    const q = this.controller.queue;
    const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace}/${o.metadata?.name}`;
    this.jobs.onAny((j) => q.add(keyOf(j)));
    const byJobLabel = (o: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
      const j = o.metadata?.labels?.[Labels.job];
      if (j) q.add(`${o.metadata?.namespace}/${j}`);
    };
    pods.onAny(byJobLabel);
    configMaps.onAny(byJobLabel);
    // A node or topology change can unblock an Unschedulable job or fail a running one: look at every active job.
    const all = () => {
      for (const j of this.jobs.list()) if (j.status?.phase !== 'Succeeded' && j.status?.phase !== 'Failed') q.add(keyOf(j));
    };
    nodes.on('delete', all);
    // New or changed nodes (a not-ready taint lifted, GPUs freed) may make an Unschedulable job fit.
    const unschedulable = () => {
      for (const j of this.jobs.list()) if (j.status?.phase === 'Unschedulable') q.add(keyOf(j));
    };
    nodes.on('add', unschedulable);
    nodes.on('update', unschedulable);
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
    for (const j of this.jobs.list()) this.controller.queue.add(`${j.metadata?.namespace}/${j.metadata?.name}`);
    this.resync = setInterval(() => {
      const phases = new Map<string, number>();
      for (const j of this.jobs.list()) {
        this.controller.queue.add(`${j.metadata?.namespace}/${j.metadata?.name}`);
        const ph = j.status?.phase ?? 'Pending';
        phases.set(ph, (phases.get(ph) ?? 0) + 1);
      }
      this.o.metrics.jobsByPhase.reset();
      for (const [ph, n] of phases) this.o.metrics.jobsByPhase.set({ phase: ph }, n);
    }, Math.max(1, clampTimerMs(this.o.resyncMs ?? 30_000)));
    this.resync.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.resync);
    await this.controller.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}

// Wires the MoETrainingJob controller: informers for the job, its children, nodes and topologies, event handlers that
// map every change to the owning job's key, a periodic resync that also counts jobs by phase. The informer, work-queue
// and resync plumbing is the framework's (kube/wiring.ts).
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, INFD_KIND, Labels, MTJ_KIND, TOPOLOGY_KIND } from '../../api/constants.js';
import type { IClusterTopology, IInferenceDeployment, IMoETrainingJob } from '../../api/types.gen.js';
import type { Controller } from '../../kube/controller.js';
import type { Informer } from '../../kube/informer.js';
import { WiredController, keyOf, type Cached, type SetupOptions } from '../../kube/wiring.js';
import { PROJECT_KINDS } from '../kinds.js';
import { watchedNamespaces } from '../namespaces.js';
import { mtjMetrics } from './metrics.js';
import { MtjReconciler, type PlanFn } from './reconciler.js';
import { judgeNames } from './judges.js';

/** Pod events of one job within this time make one reconcile: a 256-pod gang start is ~770 pod events (create, bind,
 *  start), a reconcile each was ~230 reconciles of all 256 pods in 7 s on the busy bench machine. */
export const POD_EVENTS_COALESCE_MS = 200;

export interface MtjControllerOptions extends SetupOptions {
  plan: PlanFn;
  /** See MtjDeps.bindDeadlineMs (default DEFAULT_BIND_DEADLINE_MS, gang-start.ts). */
  bindDeadlineMs?: number;
}

export class MtjController extends WiredController {
  readonly controller: Controller;
  readonly jobs: Informer<Cached<IMoETrainingJob>>;

  constructor(private readonly o: MtjControllerOptions) {
    super({ ...o, namespaces: watchedNamespaces(o), kinds: PROJECT_KINDS });
    const { client, log } = o;
    const w = this.wiring;
    this.jobs = w.namespaced<IMoETrainingJob>(API_VERSION, MTJ_KIND);
    // Every pod the operator manages (training and serving): the planner must count the GPUs of both.
    const pods = w.namespaced<V1Pod>('v1', 'Pod', `${Labels.managedBy}=${FIELD_MANAGER}`);
    const configMaps = w.namespaced<V1ConfigMap>('v1', 'ConfigMap', Labels.job);
    const nodes = w.clusterScoped<V1Node>('v1', 'Node');
    const topologies = w.clusterScoped<IClusterTopology>(API_VERSION, TOPOLOGY_KIND);
    // GRPO judges (judges.ts): a job waiting for its judge moves when the deployment appears or becomes Available.
    const deployments = w.namespaced<IInferenceDeployment>(API_VERSION, INFD_KIND);

    const reconciler = new MtjReconciler({
      client,
      jobs: this.jobs,
      pods,
      configMaps,
      nodes,
      topologies,
      deployments,
      plan: o.plan,
      recorder: w.recorder(FIELD_MANAGER),
      metrics: o.metrics.part(mtjMetrics),
      log,
      ...(o.bindDeadlineMs !== undefined ? { bindDeadlineMs: o.bindDeadlineMs } : {}),
    });
    this.controller = w.controller('moetrainingjob', MTJ_KIND, (key, signal) => reconciler.reconcile(key, signal), { workers: o.workers ?? 8, timeoutMs: o.timeoutMs ?? 60_000 });

    const q = this.controller.queue;
    this.jobs.onAny((j) => q.add(keyOf(j)));
    // A job's pods moved (created, bound, running): its reconcile goes before jobs not started yet (workqueue.ts).
    w.enqueueByLabelSoon(this.controller, Labels.job, POD_EVENTS_COALESCE_MS, pods);
    w.enqueueByLabel(this.controller, Labels.job, configMaps);
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
    deployments.onAny((d) => {
      for (const j of this.jobs.list(d.metadata?.namespace)) if (judgeNames(j).includes(d.metadata?.name ?? '')) q.add(keyOf(j));
    });
  }

  run(): void {
    const byPhase = this.o.metrics.part(mtjMetrics).jobsByPhase;
    this.wiring.run(this.controller, () => this.jobs.list().map(keyOf), this.o.resyncMs ?? 30_000, () => {
      const phases = new Map<string, number>();
      for (const j of this.jobs.list()) {
        const ph = j.status?.phase ?? 'Pending';
        phases.set(ph, (phases.get(ph) ?? 0) + 1);
      }
      byPhase.reset();
      for (const [ph, n] of phases) byPhase.set({ phase: ph }, n);
    });
  }
}

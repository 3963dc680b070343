// Wires the MoEEvaluation controller: informers for evaluations, their pods and ConfigMaps, and their targets
// (InferenceDeployments, MoETrainingJobs); event handlers that map every change to the evaluation's key; a periodic
// resync. The informer, work-queue and resync plumbing is the framework's (kube/wiring.ts).
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, EVAL_KIND, EvalLabels, FIELD_MANAGER, INFD_KIND, MTJ_KIND } from '../../api/constants.js';
import type { IInferenceDeployment, IMoEEvaluation, IMoETrainingJob } from '../../api/types.gen.js';
import type { Controller } from '../../kube/controller.js';
import type { Informer } from '../../kube/informer.js';
import { WiredController, keyOf, type Cached, type SetupOptions } from '../../kube/wiring.js';
import { PROJECT_KINDS } from '../kinds.js';
import { watchedNamespaces } from '../namespaces.js';
import { evalMetrics } from './metrics.js';
import { EvalReconciler } from './reconciler.js';

export type EvalControllerOptions = SetupOptions;

export class EvalController extends WiredController {
  readonly controller: Controller;
  readonly evaluations: Informer<Cached<IMoEEvaluation>>;

  constructor(private readonly o: EvalControllerOptions) {
    super({ ...o, namespaces: watchedNamespaces(o), kinds: PROJECT_KINDS });
    const { client, log } = o;
    const w = this.wiring;
    this.evaluations = w.namespaced<IMoEEvaluation>(API_VERSION, EVAL_KIND);
    const pods = w.namespaced<V1Pod>('v1', 'Pod', EvalLabels.evaluation);
    const configMaps = w.namespaced<V1ConfigMap>('v1', 'ConfigMap', EvalLabels.evaluation);
    const deployments = w.namespaced<IInferenceDeployment>(API_VERSION, INFD_KIND);
    const jobs = w.namespaced<IMoETrainingJob>(API_VERSION, MTJ_KIND);

    const reconciler = new EvalReconciler({
      client,
      evaluations: this.evaluations,
      pods,
      configMaps,
      deployments,
      jobs,
      recorder: w.recorder(FIELD_MANAGER),
      metrics: o.metrics.part(evalMetrics),
      log,
    });
    this.controller = w.controller('moeevaluation', EVAL_KIND, (key, signal) => reconciler.reconcile(key, signal), { workers: o.workers ?? 4, timeoutMs: o.timeoutMs ?? 60_000 });

    const q = this.controller.queue;
    this.evaluations.onAny((e) => q.add(keyOf(e)));
    w.enqueueByLabel(this.controller, EvalLabels.evaluation, pods, configMaps);
    // A target changing (a deployment becoming Available, a job reporting a checkpoint) moves its evaluations.
    const targets = (kind: 'inferenceDeployment' | 'trainingJob') => (x: { metadata?: { namespace?: string; name?: string } }) => {
      for (const e of this.evaluations.list(x.metadata?.namespace)) {
        const t = e.spec?.target;
        const name = kind === 'trainingJob' ? t?.trainingJob?.name : t?.inferenceDeployment;
        if (name === x.metadata?.name) q.add(keyOf(e));
      }
    };
    deployments.onAny(targets('inferenceDeployment'));
    jobs.onAny(targets('trainingJob'));
  }

  run(): void {
    this.wiring.run(this.controller, () => this.evaluations.list().map(keyOf), this.o.resyncMs ?? 30_000);
  }
}

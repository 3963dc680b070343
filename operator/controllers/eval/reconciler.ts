// MoEEvaluation reconciler (I/O): reads the evaluation, its pods, its report ConfigMap and its target (an
// InferenceDeployment or a MoETrainingJob) from the informer caches, decides with the pure decide.ts, applies the
// decision in order (report ConfigMap and the pod's RBAC; for a new run: clear the report's result, the plan
// ConfigMap, the pod; deletions), writes status once, sets the score metrics and emits the events it collected.
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, EVAL_KIND, evalNames } from '../../api/constants.js';
import { applyDefaults } from '../../api/defaults.js';
import { MoEEvaluationSchema, type IInferenceDeployment, type IMoEEvaluation, type IMoETrainingJob } from '../../api/types.gen.js';
import { EvalConfigMaps } from '../../contract/index.js';
import type { ReconcileResult } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { allSynced, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import { isNotFound, resourcePath, type KObject, type KubeClient } from '../../kube/rest.js';
import { ChildWriter } from '../child-writer.js';
import { WriteBackoff } from '../children.js';
import { stableStringify } from '../mtj/reconciler.js';
import { decide } from './decide.js';
import { evalMeta } from './desired.js';
import { scoreSeries, type EvalMetrics } from './metrics.js';
import type { EvalStatusBuilder } from './status.js';

type WithMeta<T> = T & { metadata: any };

export interface EvalDeps {
  client: KubeClient;
  evaluations: Informer<WithMeta<IMoEEvaluation>>;
  pods: Informer<WithMeta<V1Pod>>;
  configMaps: Informer<WithMeta<V1ConfigMap>>;
  deployments: Informer<WithMeta<IInferenceDeployment>>;
  jobs: Informer<WithMeta<IMoETrainingJob>>;
  recorder: EventRecorder;
  metrics: EvalMetrics;
  log: Logger;
  now?: () => Date;
}

const specSchema = MoEEvaluationSchema.properties!.spec!;

export class EvalReconciler {
  /** Per UID: the status this process last wrote (the cache may lag behind it). */
  private readonly written = new Map<string, NonNullable<IMoEEvaluation['status']>>();
  /** Per evaluation key: the metric label sets set last, removed when they change or the evaluation goes. */
  private readonly series = new Map<string, Array<Record<string, string>>>();
  private readonly writeBackoff = new WriteBackoff();

  constructor(private readonly d: EvalDeps) {}

  private now(): Date {
    return this.d.now ? this.d.now() : new Date();
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.d.evaluations.get(name, namespace);
    if (!cached) {
      this.setMetrics(key, []);
      for (const uid of this.written.keys()) if (!this.d.evaluations.list().some((x) => x.metadata?.uid === uid)) this.written.delete(uid);
      return;
    }
    if (!allSynced(this.d.pods, this.d.configMaps, this.d.deployments, this.d.jobs)) return { requeueAfterMs: 1000 };
    const uid = cached.metadata.uid as string;
    // The status this process wrote last wins over a cache that has not caught up with it.
    const status = this.written.get(uid) ?? cached.status;
    const ev: IMoEEvaluation = { ...cached, apiVersion: API_VERSION, kind: EVAL_KIND, spec: applyDefaults(specSchema, cached.spec), ...(status ? { status } : {}) };
    const t = ev.spec.target;
    const now = this.now();
    const generation = ev.metadata?.generation ?? 0;
    const dec = decide(ev, {
      now,
      deployment: t.inferenceDeployment ? this.d.deployments.get(t.inferenceDeployment, namespace) : undefined,
      job: t.trainingJob ? this.d.jobs.get(t.trainingJob.name, namespace) : undefined,
      pods: this.d.pods.list(namespace).filter((p) => p.metadata?.ownerReferences?.some((o: { uid: string }) => o.uid === uid)),
      report: this.d.configMaps.get(evalNames(name).reportConfigMap, namespace)?.data,
      backoffMs: this.writeBackoff.wait(uid, generation, now.getTime()),
    });
    const st = dec.status;
    let result: ReconcileResult | void = dec.requeueAfterMs !== undefined ? { requeueAfterMs: dec.requeueAfterMs } : undefined;
    if (!dec.hold) {
      const before = dec.start ? undoOf(ev) : undefined;
      const r = await this.writeBackoff.guard(uid, generation, () => this.now().getTime(), st, async () => {
        const w = this.writer(ev);
        await w.applyAll(dec.shared, signal, (o) => (o.kind === 'ConfigMap' ? this.d.configMaps.get(o.metadata!.name!, namespace) : undefined));
        if (dec.start) {
          // The report holds one result: the previous run's goes before this run starts (it is in status already).
          await this.d.client.mergePatch(resourcePath('v1', 'ConfigMap', namespace, evalNames(name).reportConfigMap), { data: { [EvalConfigMaps.report.key]: null } }, signal);
          await w.applyAll([dec.start.plan], signal);
          await w.createPod(dec.start.pod, signal);
        }
        for (const p of dec.deletePods) await this.d.client.delete(resourcePath('v1', 'Pod', namespace, p.metadata!.name!), { signal });
        this.writeBackoff.succeeded(uid);
        st.writesSucceeded();
        return result;
      });
      // A refused start is no run: status says so instead of waiting for a pod that will not come.
      if (r && before && st.status.run && r !== result) restore(st, before);
      result = r;
    }
    await this.writeStatus(ev, st, signal);
    this.setMetrics(key, scoreSeries(namespace, name, st.status.results?.at(-1)?.scores ?? []));
    if (st.events.length) void this.d.recorder.emitAll(ev, st.events);
    return result;
  }

  private writer(ev: IMoEEvaluation): ChildWriter {
    const { name, uid } = evalMeta(ev);
    return new ChildWriter(this.d.client, { kind: EVAL_KIND, name, uid });
  }

  private setMetrics(key: string, series: ReturnType<typeof scoreSeries>): void {
    const m = this.d.metrics;
    const keep = new Set(series.map((s) => stableStringify(s.labels)));
    for (const labels of this.series.get(key) ?? []) {
      if (keep.has(stableStringify(labels))) continue;
      m.score.remove(labels);
      m.stderr.remove(labels);
    }
    for (const s of series) {
      m.score.set(s.labels, s.score);
      m.stderr.set(s.labels, s.stderr);
    }
    if (series.length) this.series.set(key, series.map((s) => s.labels));
    else this.series.delete(key);
  }

  private async writeStatus(ev: IMoEEvaluation, st: EvalStatusBuilder, signal: AbortSignal): Promise<void> {
    if (stableStringify(st.status) === stableStringify(ev.status ?? {})) return;
    const { name, namespace, uid } = evalMeta(ev);
    this.written.delete(uid);
    try {
      await this.d.client.apply({ apiVersion: API_VERSION, kind: EVAL_KIND, metadata: { name, namespace }, status: st.status } as KObject, { subresource: 'status', signal });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    this.written.set(uid, structuredClone(st.status));
  }
}

type Undo = Pick<NonNullable<IMoEEvaluation['status']>, 'run' | 'runs' | 'training' | 'phase'>;

function undoOf(ev: IMoEEvaluation): Undo {
  const s = ev.status ?? {};
  return structuredClone({ run: s.run, runs: s.runs, training: s.training, phase: s.phase ?? 'Pending' });
}

function restore(st: EvalStatusBuilder, u: Undo): void {
  for (const k of ['run', 'runs', 'training', 'phase'] as const) {
    if (u[k] === undefined) delete st.status[k];
    else (st.status as Record<string, unknown>)[k] = u[k];
  }
}

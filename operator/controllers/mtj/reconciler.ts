// MoETrainingJob reconciler: reads the job and its children from the informer caches, decides with the pure helpers
// (validate, plan, desired, failure, status), writes children with server-side apply / create, and writes status once.
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import { FINALIZER, Labels, MTJ_KIND, API_VERSION, Phase, Reason, childNames } from '../../api/constants.js';
import { applyDefaults } from '../../api/defaults.js';
import { MoETrainingJobSchema, type IClusterTopology, type IInferenceDeployment, type IMoETrainingJob } from '../../api/types.gen.js';
import { mapLimit } from '../../kube/concurrency.js';
import { spans } from '../../kube/spans.js';
import type { ReconcileResult } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { Expectations } from '../../kube/expectations.js';
import { allSynced, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import { isNotFound, pathOf, resourcePath, type KubeClient } from '../../kube/rest.js';
import { ChildWriter } from '../child-writer.js';
import { isGated, releaseGates } from '../gates.js';
import { BIND_TIMEOUT_REASON, DEFAULT_BIND_DEADLINE_MS, gangStart, placementShort, stuckPods } from './gang-start.js';
import { WriteBackoff } from '../children.js';
import type { NodeLike, PackingSpec, ParallelismSpec, PlanResult, TopologySpec, TrainingPlan } from '../../plan/types.js';
import { buildPod, headlessService, needsService, planConfigMap, planDocument, planHash, reportConfigMap, reporterRbac, startContext, type RunContext } from './desired.js';
import { PlanConfigMap, readJobReport, type PlanDocument } from '../../contract/index.js';
import { budgetLeft, decideFailure, podFailure, restartBackoffSeconds, type PodFailure } from './failure.js';
import { observeGrpo, type MtjMetrics } from './metrics.js';
import { judgeConditionFromProgress, judgeConditionFromResolution, judgeNames, resolveJudges } from './judges.js';
import { gpusInUse, toNodeLike } from './plan-input.js';
import { StatusBuilder, countsOnly, isTerminalPhase, placementDegraded, rankZeroSucceededMessage } from './status.js';
import { validateJob } from './validate.js';
import { FINISH_MARK_PATCH, admittedByKueue, awaitingAdmission, dropFinalizerPatch, kueueQueue, kueueStop, needFinishMark, preemptedByKueue, queuedByKueue, withKueueGroup } from './kueue.js';

export interface PlanInput {
  model: unknown;
  parallelism: ParallelismSpec;
  training?: unknown;
  tolerations?: Array<{ key?: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: string }>;
  nodes: NodeLike[];
  topology: TopologySpec;
  excludeNodes?: string[];
  packing?: Partial<PackingSpec>;
}
export type PlanFn = (input: PlanInput) => PlanResult;

export interface MtjDeps {
  client: KubeClient;
  jobs: Informer<IMoETrainingJob & { metadata: any }>;
  pods: Informer<V1Pod & { metadata: any }>;
  configMaps: Informer<V1ConfigMap & { metadata: any }>;
  nodes: Informer<V1Node & { metadata: any }>;
  topologies: Informer<IClusterTopology & { metadata: any }>;
  /** InferenceDeployments: GRPO judges (judges.ts). Without it, a job with a judge reward waits with JudgeNotFound. */
  deployments?: Informer<IInferenceDeployment & { metadata: any }>;
  plan: PlanFn;
  recorder: EventRecorder;
  metrics: MtjMetrics;
  log: Logger;
  now?: () => Date;
  /** How long a released gang may keep a pod the scheduler cannot place before it is torn down (gang-start.ts). */
  bindDeadlineMs?: number;
}

interface PlanEntry {
  namespace: string;
  name: string;
  attempt: number;
  plan: TrainingPlan;
  hash: string;
  doc: PlanDocument;
  ctx: RunContext;
  /** Whether this process has applied the ConfigMaps, Service and RBAC for this attempt (once is enough: SSA). */
  applied?: boolean;
}

/** JSON with sorted keys: the API server returns objects in its own key order. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const specSchema = MoETrainingJobSchema.properties!.spec!;
/** A status change of counts only (see countsOnly) is written at most this often per job; the rest at once. */
export const COUNTS_WRITE_INTERVAL_MS = 1000;

export class MtjReconciler {
  /** Plans by job uid + attempt: the informer may not show the plan ConfigMap yet when the next reconcile runs. */
  private readonly plans = new Map<string, PlanEntry>();
  /** Per job UID, the current attempt's pods expected since the gang's release and whether the cache has shown them
   *  (a pod it never showed may still be on its way for CACHE_LAG_MS; see firstFailure). */
  private readonly expected = new Expectations(undefined, () => this.now().getTime());
  /** The status this process last wrote, per job uid. */
  private readonly written = new Map<string, NonNullable<IMoETrainingJob['status']>>();
  /** When this process last wrote each job's status (performance.now(), not the injected clock). */
  private readonly writtenAt = new Map<string, number>();
  /** When the first pod of a gang was created, for the gang-release latency metric. */
  private readonly gangStart = new Map<string, number>();
  /** Jobs whose child writes were refused: no retry before their backoff ends (see children.ts). */
  private readonly writeBackoff = new WriteBackoff();
  /** Per job UID, the nodes where the scheduler could not place its last gang: left out of the next plan if it can. */
  private readonly avoid = new Map<string, string[]>();
  /** Per job UID, an attempt whose ungated creates were refused: its next try goes gated. */
  private readonly refusedUngated = new Map<string, number>();

  constructor(private readonly d: MtjDeps) {}

  private now(): Date {
    return this.d.now ? this.d.now() : new Date();
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.d.jobs.get(name, namespace);
    if (!cached) {
      return;
    }
    // Pods, nodes and topologies are never concluded missing from a cache that has not listed yet (issue 19 item 9).
    if (!allSynced(this.d.pods, this.d.configMaps, this.d.nodes, this.d.topologies)) return { requeueAfterMs: 1000 };
    const uid = cached.metadata!.uid!;
    // Only the leader writes status, so the status it wrote last is the freshest; the cache may lag behind it, and a
    // reconcile on a stale status would drop fields (SSA) or act twice on one failure.
    const mine = this.written.get(uid);
    const job: IMoETrainingJob = { ...cached, spec: applyDefaults(specSchema, cached.spec), ...(mine ? { status: mine } : {}) };
    const pods = this.d.pods.list(namespace).filter((p) => p.metadata?.ownerReferences?.some((o: { uid: string }) => o.uid === uid)) as V1Pod[];
    if (job.metadata?.deletionTimestamp) return this.finalize(job, pods, signal);
    // The finalizer goes on beside the first steps' writes (one round trip less on a new job's way to its pods); it is
    // in place before the status says anything (awaited below), and the children carry owner references regardless.
    const finalizer = this.ensureFinalizer(job, signal).then(() => undefined, (e: unknown) => ({ e }));

    const tSteps = spans.enabled ? performance.now() : 0;
    const st = new StatusBuilder(job, this.now());
    const result = await this.writeBackoff
      .guard(uid, job.metadata?.generation ?? 0, () => this.now().getTime(), st, () => this.steps(job, pods, st, signal))
      .finally(() => finalizer);
    const failedFinalizer = await finalizer;
    if (failedFinalizer) throw failedFinalizer.e;
    spans.end('mtj.steps', tSteps);
    const later = await spans.time('mtj.writeStatus', () => this.writeStatus(job, st, signal));
    // Events are best effort and must not hold a worker: sent after the status write, not awaited.
    if (st.events.length) void this.d.recorder.emitAll(job, st.events);
    if (later === undefined) return result;
    return { requeueAfterMs: Math.min(result?.requeueAfterMs ?? later, later) };
  }

  /** The reconcile proper, as a list of short steps; returns when a step decides the rest must wait. */
  private async steps(job: IMoETrainingJob, pods: V1Pod[], st: StatusBuilder, signal: AbortSignal): Promise<ReconcileResult | void> {
    const { name, namespace } = { name: job.metadata!.name!, namespace: job.metadata!.namespace! };
    const n = childNames(name);

    // 1. Finished jobs only clean up pods per cleanPodPolicy.
    if (isTerminalPhase(job.status?.phase)) {
      this.plans.delete(job.metadata!.uid!);
      await this.markKueueGroupFinished(job, pods, signal);
      await this.cleanPods(job, pods, signal);
      return;
    }

    // 2. Checks the schema cannot do; an invalid job waits for a spec change (no requeue, no hot loop).
    const errs = validateJob(job);
    if (errs.length) {
      st.invalid(errs);
      await this.deletePods(pods, signal);
      return;
    }
    st.valid();

    // 3. Progress and checkpoints reported by rank 0 through <job>-report.
    const report = readJobReport(this.d.configMaps.get(n.reportConfigMap, namespace)?.data);
    st.report(report.progress, report.checkpoint);
    judgeConditionFromProgress(st, report.progress?.step, report.progress?.grpo);
    observeGrpo(this.d.metrics, namespace, name, report.progress?.grpo);
    this.observeCheckpointAge(job, st);

    // 4. Suspend: delete the pods, keep the status (checkpoints, restarts).
    if (job.spec.suspend) {
      this.plans.delete(job.metadata!.uid!);
      await this.deletePods(pods, signal);
      st.suspended();
      return;
    }
    st.resumedIfSuspended();

    // 5. Pods of earlier attempts go away before a new gang starts.
    const attempt = st.attempt;
    const current = pods.filter((p) => p.metadata?.labels?.[Labels.attempt] === String(attempt));
    const stale = pods.filter((p) => p.metadata?.labels?.[Labels.attempt] !== String(attempt));
    await this.deletePods(stale, signal);

    // Kueue stopped the gang (preempted, or lost its quota): restart it uncounted; the new pods queue again.
    const stop = kueueQueue(job) ? kueueStop(current) : undefined;
    if (stop) {
      preemptedByKueue(st, job, stop);
      this.plans.delete(job.metadata!.uid!);
      await this.deletePods(current, signal);
      return { requeueAfterMs: 500 };
    }

    // 6. After release: success of rank 0, or a failure that restarts or fails the gang.
    const planned = this.existingPlan(job, attempt);
    if (st.status.startTime && planned) {
      const rank0 = current.find((p) => p.metadata?.labels?.[Labels.podIndex] === '0');
      if (rank0?.status?.phase === 'Succeeded') {
        st.succeeded(rankZeroSucceededMessage(rank0.metadata?.name, st.status.progress?.step));
        this.plans.delete(job.metadata!.uid!);
        await this.cleanPods(job, current, signal);
        this.d.metrics.checkpointAge.remove(namespace, name);
        return;
      }
      const failure = this.firstFailure(current, planned.plan.pods, name, job.metadata!.uid!, attempt, st.status.startTime);
      if (failure) return this.onFailure(job, st, current, failure, signal);
    }

    // 7. Backoff before a restart, and old pods still terminating.
    if (st.status.restartAfter) {
      const wait = Date.parse(st.status.restartAfter) - this.now().getTime();
      if (wait > 0) {
        st.waitingForRestart();
        return { requeueAfterMs: wait };
      }
    }
    if (stale.length > 0) {
      st.waitingForRestart();
      return { requeueAfterMs: 1000 };
    }

    // 8. Plan (once per attempt), then the ConfigMaps, Service and reporter RBAC; not while refused writes back off.
    const wait = this.writeBackoff.wait(job.metadata!.uid!, job.metadata?.generation ?? 0, this.now().getTime());
    if (wait > 0) return { requeueAfterMs: wait };
    const p = await this.ensurePlan(job, st, attempt);
    if (!p) return { requeueAfterMs: 30_000 };
    if (st.status.restartAfter) st.restartStarted();

    // 9. Create the missing pods, ungated where the room is verified (gang-start.ts), else gated; once all exist,
    //    release the gang together (nothing to release for an ungated gang).
    const creating = !st.status.startTime;
    let start = { gated: true, why: '' };
    const created: V1Pod[] = [];
    const createAll = async (serviceAccount?: Promise<void>): Promise<void> => {
      start = this.gangStartOf(job, p, current, attempt);
      try {
        await this.createPods(job, p, current, start.gated, created, signal, serviceAccount);
      } catch (e) {
        // Ungated pods bind and hold GPUs while the rest of the gang cannot be created: they go, and the next try
        // is gated (its pods hold nothing until every pod exists).
        if (!start.gated) {
          this.refusedUngated.set(job.metadata!.uid!, attempt);
          await this.deletePods([...current, ...created], signal);
        }
        throw e;
      }
    };
    // Re-apply when the plan ConfigMap vanished from the cache (deleted by someone), else once per attempt. The pods
    // go out beside the children once no name is taken (two round trips less to a new job's pods): the rank-0 pod
    // after the first wave (its ServiceAccount must exist), the rest at once (the kubelet waits for the plan volume).
    if (!p.applied || !this.d.configMaps.get(childNames(job.metadata!.name!).planConfigMap, job.metadata!.namespace!)) {
      // A job that has no plan in its status has written no children yet (or its first try failed): create first.
      await this.applyChildren(job, p.doc, signal, creating ? createAll : undefined, job.status?.plan === undefined);
      p.applied = true;
    } else if (creating) await createAll();

    if (creating) {
      const all = [...current, ...created];
      // With a queue, the gang is released only once Kueue has admitted it (its own gate is gone from every pod).
      const held = kueueQueue(job) ? awaitingAdmission(all) : [];
      if (all.length === p.plan.pods && !held.length) {
        await this.releaseGang(job, all, signal);
        st.released(all.length, start.gated, start.why);
        admittedByKueue(st, job);
      }
      this.childrenWritten(job, st);
      st.fromPods(all, p.plan.pods);
      if (held.length) queuedByKueue(st, job, held.length, p.plan.pods);
      return;
    }
    this.childrenWritten(job, st);
    st.fromPods(current, p.plan.pods);
    if (st.status.phase === Phase.Running) {
      this.avoid.delete(job.metadata!.uid!);
      return undefined;
    }
    return this.bindWatchdog(job, st, current, signal);
  }

  /** Gated or not, for this attempt's creates (gang-start.ts). */
  private gangStartOf(job: IMoETrainingJob, p: PlanEntry, current: V1Pod[], attempt: number): { gated: boolean; why: string } {
    const uid = job.metadata!.uid!;
    const queued = !!kueueQueue(job);
    let short: string[] = [];
    if (!current.length && !queued) {
      const allocatable = new Map(this.d.nodes.list().map((n) => [n.metadata!.name!, Number(n.status?.allocatable?.[p.ctx.gpuResource] ?? 0)] as const));
      short = placementShort(p.plan.placement, p.plan.gpusPerPod, allocatable, this.gpusUsedByOthers(job, p.ctx.gpuResource));
    }
    return gangStart({
      queued,
      schedulerName: job.spec.schedulerName,
      lastFailureReason: job.status?.lastFailure?.reason,
      current,
      short,
      refused: this.refusedUngated.get(uid) === attempt,
    });
  }

  /**
   * A released gang with a pod the scheduler reported Unschedulable (another tenant took the room between plan and
   * bind, or the operator's view of the fleet missed a pod it does not watch) is torn down once that lasts past the
   * deadline, instead of holding the GPUs of the pods that did bind forever. The restart is not counted; the next
   * attempt is planned without the nodes that were full, where the fleet allows, and goes gated. Kueue-managed gangs
   * are left to Kueue (waitForPodsReady).
   */
  private async bindWatchdog(job: IMoETrainingJob, st: StatusBuilder, current: V1Pod[], signal: AbortSignal): Promise<ReconcileResult> {
    const stuck = kueueQueue(job) ? [] : stuckPods(current);
    if (!stuck.length) return { requeueAfterMs: 10_000 };
    const deadline = this.d.bindDeadlineMs ?? DEFAULT_BIND_DEADLINE_MS;
    const since = this.now().getTime() - Date.parse(st.status.startTime!);
    if (since < deadline) return { requeueAfterMs: Math.min(10_000, deadline - since + 250) };
    const nodes = [...new Set(stuck.map((p) => p.spec?.nodeSelector?.['kubernetes.io/hostname']).filter((n): n is string => !!n))];
    const first = stuck[0]!;
    const msg = `${stuck.length}/${current.length} pods not placed ${Math.round(since / 1000)}s after the release (scheduler: ${first.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? 'Unschedulable'}); gang torn down, re-planned without ${nodes.join(', ') || 'them'} and started gated`.slice(0, 1000);
    st.restart(BIND_TIMEOUT_REASON, msg, false, 0, undefined, { pod: first.metadata!.name!, reason: BIND_TIMEOUT_REASON, ...(nodes[0] ? { node: nodes[0] } : {}) });
    this.d.metrics.restarts.inc({ reason: BIND_TIMEOUT_REASON });
    this.avoid.set(job.metadata!.uid!, nodes);
    this.plans.delete(job.metadata!.uid!);
    await this.deletePods(current, signal);
    return { requeueAfterMs: 500 };
  }

  /** GPUs per node held by the operator's other pods and by other jobs' plans whose pods the cache does not show yet. */
  private gpusUsedByOthers(job: IMoETrainingJob, gpuResource: string): Map<string, number> {
    const uid = job.metadata!.uid!;
    const used = gpusInUse(this.d.pods.list() as V1Pod[], gpuResource, job.metadata!.name!, job.metadata!.namespace!);
    for (const [otherUid, other] of this.plans) {
      // A job whose pods the API server refuses holds no GPUs (its gang cannot start until someone fixes it).
      if (otherUid === uid || this.writeBackoff.failing(otherUid)) continue;
      for (const pl of other.plan.placement) {
        if (this.d.pods.get(childNames(other.name).pod(pl.pod), other.namespace)) continue;
        used.set(pl.node, (used.get(pl.node) ?? 0) + other.plan.gpusPerPod);
      }
    }
    return used;
  }

  private childrenWritten(job: IMoETrainingJob, st: StatusBuilder): void {
    this.writeBackoff.succeeded(job.metadata!.uid!);
    st.writesSucceeded();
  }

  private writer(job: IMoETrainingJob): ChildWriter {
    return new ChildWriter(this.d.client, { kind: MTJ_KIND, name: job.metadata!.name!, uid: job.metadata!.uid! });
  }

  private firstFailure(current: V1Pod[], expected: number, job: string, uid: string, attempt: number, releasedAt: string | undefined): PodFailure | undefined {
    // The informer may not have caught up with pods this process just created: a pod is missing once the cache has
    // shown it, or once the gang has been out longer than the cache could plausibly lag.
    // One ledger per release (an attempt, or a resume after suspend within it): the pods of an earlier release were
    // other pods of the same names.
    const release = `${attempt}@${releasedAt ?? ''}`;
    if (!this.expected.holds(uid, release)) {
      this.expected.expectCreations(uid, Array.from({ length: expected }, (_, i) => childNames(job).pod(i)), release, releasedAt ? Date.parse(releasedAt) : 0);
    }
    this.expected.observe(uid, current.map((p) => p.metadata!.name!));
    for (const p of current) {
      const f = podFailure(p);
      if (f) return f;
      const node = p.spec?.nodeName;
      if (node && !this.d.nodes.get(node)) return { pod: p.metadata!.name!, node, reason: 'NodeLost', message: `node ${node} no longer exists` };
    }
    const names = new Set(current.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name));
    for (let i = 0; i < expected; i++) {
      const pn = childNames(job).pod(i);
      if (!names.has(pn)) {
        if (this.expected.creationPending(uid, pn)) continue;
        const was = current.find((p) => p.metadata?.name === pn);
        const f: PodFailure = { pod: pn, reason: 'PodMissing', message: 'pod deleted after the gang was released' };
        if (was?.spec?.nodeName) f.node = was.spec.nodeName;
        return f;
      }
    }
    return undefined;
  }

  private async onFailure(job: IMoETrainingJob, st: StatusBuilder, current: V1Pod[], f: PodFailure, signal: AbortSignal): Promise<ReconcileResult> {
    const policy = job.spec.failurePolicy;
    const d = decideFailure(policy, f);
    const lastFailure = { pod: f.pod, reason: f.reason, ...(f.node ? { node: f.node } : {}), ...(f.exitCode !== undefined ? { exitCode: f.exitCode } : {}) };
    if (d.action === 'FailJob' || (d.counts && !budgetLeft(policy, st.status.restarts ?? 0))) this.plans.delete(job.metadata!.uid!);
    if (d.action === 'FailJob') {
      st.status.lastFailure = { ...lastFailure, time: this.now().toISOString() };
      st.failed(Reason.FailedByRule, d.explanation);
      await this.cleanPods(job, current, signal);
      return {};
    }
    if (d.counts && !budgetLeft(policy, st.status.restarts ?? 0)) {
      st.status.lastFailure = { ...lastFailure, time: this.now().toISOString() };
      st.failed(Reason.RestartBudgetExhausted, `${d.explanation}; restart budget of ${policy?.maxRestarts ?? 3} used up`);
      await this.cleanPods(job, current, signal);
      return {};
    }
    const backoff = restartBackoffSeconds(policy, (st.status.restarts ?? 0) + (d.counts ? 1 : 0));
    st.restart(f.reason, d.explanation, d.counts, backoff, d.excludeNode, lastFailure);
    this.d.metrics.restarts.inc({ reason: f.reason });
    this.plans.delete(job.metadata!.uid!);
    await this.deletePods(current, signal);
    return { requeueAfterMs: Math.max(backoff * 1000, 500) };
  }

  /** The plan of this attempt from memory, or (after an operator restart) from the plan ConfigMap already written. */
  private existingPlan(job: IMoETrainingJob, attempt: number): PlanEntry | undefined {
    const uid = job.metadata!.uid!;
    const have = this.plans.get(uid);
    if (have && have.attempt === attempt) return have;
    const cm = this.d.configMaps.get(childNames(job.metadata!.name!).planConfigMap, job.metadata!.namespace!);
    if (cm?.metadata?.labels?.[Labels.attempt] !== String(attempt) || !cm.data?.[PlanConfigMap.key]) return undefined;
    try {
      const doc = JSON.parse(cm.data[PlanConfigMap.key]) as PlanDocument; // our own writing
      const topo = this.d.topologies.get(job.spec.topologyRef?.name ?? 'default');
      const ctx: RunContext = { attempt, gpuResource: topo?.spec.gpuResource ?? 'nvidia.com/gpu', rdmaResource: topo?.spec.rdmaResource ?? 'rdma/ib' };
      if (doc.checkpoint.resumeStep !== null) ctx.resumeStep = doc.checkpoint.resumeStep;
      if (doc.checkpoint.resumeUri !== null) ctx.resumeUri = doc.checkpoint.resumeUri;
      if (doc.checkpoint.initUri) ctx.initUri = doc.checkpoint.initUri;
      const entry: PlanEntry = { namespace: job.metadata!.namespace!, name: job.metadata!.name!, attempt, plan: doc.plan, doc, hash: planHash(doc), ctx };
      this.plans.set(uid, entry);
      return entry;
    } catch {
      return undefined;
    }
  }

  private async ensurePlan(job: IMoETrainingJob, st: StatusBuilder, attempt: number): Promise<PlanEntry | undefined> {
    const uid = job.metadata!.uid!;
    const { name, namespace } = { name: job.metadata!.name!, namespace: job.metadata!.namespace! };
    const have = this.existingPlan(job, attempt);
    if (have) return have;
    const topoName = job.spec.topologyRef?.name ?? 'default';
    const topo = this.d.topologies.get(topoName);
    if (!topo) {
      st.unschedulable(Reason.TopologyNotFound, `ClusterTopology ${topoName} not found (spec.topologyRef.name); create it or install the chart's default`);
      return undefined;
    }
    const gpuResource = topo.spec.gpuResource ?? 'nvidia.com/gpu';
    // Plans whose pods the cache does not show yet still hold their GPUs (pods already seen are counted too).
    const used = this.gpusUsedByOthers(job, gpuResource);
    const nodes = toNodeLike(this.d.nodes.list() as V1Node[], used, gpuResource);
    const exclude = [...(job.spec.packing?.excludeNodes ?? []), ...(st.status.excludedNodes ?? [])];
    const input: PlanInput = {
      model: job.spec.model,
      parallelism: job.spec.parallelism as ParallelismSpec,
      training: job.spec.training ?? {},
      tolerations: [
        ...(((job.spec.template as { spec?: { tolerations?: PlanInput['tolerations'] } } | undefined)?.spec?.tolerations) ?? []),
        { key: gpuResource, operator: 'Exists' },
      ],
      nodes,
      topology: topo.spec as TopologySpec,
      excludeNodes: exclude,
      packing: (job.spec.packing ?? {}) as Partial<PackingSpec>,
    };
    let res: PlanResult;
    const tPlan = spans.enabled ? performance.now() : 0;
    try {
      // Nodes where the scheduler could not place the last gang are left out when the fleet allows it.
      const avoid = this.avoid.get(uid) ?? [];
      res = avoid.length ? this.d.plan({ ...input, excludeNodes: [...exclude, ...avoid] }) : { ok: false, errors: [] };
      if (!res.ok) res = this.d.plan(input);
      spans.end('mtj.plan', tPlan);
    } catch (e) {
      res = { ok: false, errors: [{ field: 'spec', message: `planner error: ${(e as Error).message}` }] };
    }
    if (!res.ok) {
      const msg = res.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      // Spec errors were caught by validateJob (same reader as the planner's); what is left is capacity/topology.
      st.unschedulable(Reason.Unschedulable, msg);
      return undefined;
    }
    const plan = res.plan;
    const ctx = this.runContext(job, st, topo, attempt);
    if (typeof ctx === 'string') {
      st.unschedulable(Reason.InitSourceNotReady, ctx);
      return undefined;
    }
    // GRPO judges: every judge InferenceDeployment must exist and serve before the gang starts.
    const names = judgeNames(job);
    if (names.length) {
      const r = resolveJudges(job, (n) => this.d.deployments?.get(n, namespace));
      judgeConditionFromResolution(st, r, names);
      if ('waiting' in r) {
        st.unschedulable(r.reason, r.waiting);
        return undefined;
      }
      ctx.judges = r.judges;
    }
    const doc = planDocument(job, plan, ctx);
    const entry: PlanEntry = { namespace, name, attempt, plan, doc, hash: planHash(doc), ctx };
    this.plans.set(uid, entry);
    st.planned(
      {
        worldSize: plan.worldSize,
        pods: plan.pods,
        placementScore: Number(plan.summary.score.toFixed(4)),
        configMap: childNames(name).planConfigMap,
        trafficByLevel: plan.summary.traffic.map((t) => ({ level: t.level, bytesPerStep: t.bytesPerStep })),
      },
      placementDegraded(plan.summary) ? plan.summary.explanations : [],
    );
    return entry;
  }

  /** The run context, or why the gang must wait (an initFrom.trainingJob that has not succeeded). */
  private runContext(job: IMoETrainingJob, st: StatusBuilder, topo: IClusterTopology, attempt: number): RunContext | string {
    const src = job.spec.checkpoint?.initFrom?.trainingJob?.name;
    const start = startContext(job, st.status.checkpoints?.latest, src ? this.d.jobs.get(src, job.metadata!.namespace!) : undefined);
    if ('waiting' in start) return start.waiting;
    return { attempt, gpuResource: topo.spec.gpuResource ?? 'nvidia.com/gpu', rdmaResource: topo.spec.rdmaResource ?? 'rdma/ib', ...start };
  }

  private async applyChildren(job: IMoETrainingJob, doc: PlanDocument, signal: AbortSignal, beside?: (firstWave: Promise<void>) => Promise<void>, createFirst = false): Promise<void> {
    const objs = [planConfigMap(job, doc), reportConfigMap(job), ...(needsService(doc.plan) ? [headlessService(job)] : []), ...reporterRbac(job)];
    // Only objects this job controls are written: one of the names taken by someone else stops here (NameConflict)
    // before anything is written, so a user's Role or Service is never rewritten or adopted (and then GC'd).
    // RoleBindings go last (applyAll): the API server's escalation check reads the Role when a RoleBinding is created.
    await this.writer(job).applyAll(objs, signal, (o) => (o.kind === 'ConfigMap' ? this.d.configMaps.get(o.metadata!.name!, o.metadata!.namespace) : undefined), beside, createFirst);
  }

  /** Creates the missing pods into `created` (filled as they go, so a caller sees them when one create fails); the
   *  pod that runs as the reporter ServiceAccount waits for `serviceAccount` (admission refuses it before). */
  private async createPods(job: IMoETrainingJob, p: PlanEntry, current: V1Pod[], gated: boolean, created: V1Pod[], signal: AbortSignal, serviceAccount?: Promise<void>): Promise<void> {
    const have = new Set(current.map((x) => x.metadata?.name));
    const ctx = p.ctx;
    const missing = Array.from({ length: p.plan.pods }, (_, i) => i).filter((i) => !have.has(childNames(job.metadata!.name!).pod(i)));
    if (missing.length && !this.gangStart.has(job.metadata!.uid!)) this.gangStart.set(job.metadata!.uid!, performance.now());
    const w = this.writer(job);
    // An existing pod of the name is taken only when this job controls it (created by an earlier reconcile the cache
    // has not shown yet); anyone else's pod is a NameConflict and is never released or deleted.
    const failed = new Map<number, unknown>();
    const tCreate = spans.enabled ? performance.now() : 0;
    // The bench marks the job's create: apply → the first pod create sent (informer lag, plan, finalizer, name checks).
    if (missing.length) spans.seen('mtj.applyToFirstCreate', `job/${job.metadata!.namespace}/${job.metadata!.name}`);
    await mapLimit(missing, 32, async (i) => {
      try {
        const tBuild = spans.enabled ? performance.now() : 0;
        const pod = withKueueGroup(buildPod(job, p.plan, i, ctx, p.hash, gated), job, p.plan.pods);
        spans.end('mtj.buildPod', tBuild);
        if (pod.spec?.serviceAccountName) await serviceAccount;
        spans.mark(`pod/${pod.metadata!.namespace}/${pod.metadata!.name}`);
        created.push(await w.createPod(pod, signal));
      } catch (e) {
        failed.set(i, e);
      }
    });
    if (missing.length) spans.end('mtj.createPods', tCreate);
    // The lowest index's error, so that a retry refused the same way reports the same message (one event, not one per try).
    if (failed.size) throw failed.get(Math.min(...failed.keys()));
  }

  private async releaseGang(job: IMoETrainingJob, pods: V1Pod[], signal: AbortSignal): Promise<void> {
    const tRelease = spans.enabled ? performance.now() : 0;
    await releaseGates(this.d.client, pods, signal);
    if (pods.some(isGated)) spans.end('mtj.releaseGang', tRelease);
    const t0 = this.gangStart.get(job.metadata!.uid!);
    if (t0 !== undefined) {
      this.d.metrics.gangReleaseSeconds.observe((performance.now() - t0) / 1000);
      this.gangStart.delete(job.metadata!.uid!);
    }
  }

  /** Deletes the pods not yet deleting; Kueue's finalizer, where a pod has it, goes too (see kueue.ts). */
  private async deletePods(pods: V1Pod[], signal: AbortSignal): Promise<void> {
    await mapLimit(
      pods.filter((p) => !p.metadata?.deletionTimestamp || dropFinalizerPatch(p)),
      32,
      async (p) => {
        const path = resourcePath('v1', 'Pod', p.metadata!.namespace!, p.metadata!.name!);
        if (!p.metadata?.deletionTimestamp) await this.d.client.delete(path, { gracePeriodSeconds: 0, signal });
        const drop = dropFinalizerPatch(p);
        if (drop) await this.d.client.jsonPatch(path, drop, signal).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
      },
    );
  }

  /** A finished Kueue-managed job marks its pods not retriable, so Kueue finishes the Workload and frees the quota
   *  (a gang whose rank 0 succeeded is done even when other ranks did not exit 0). */
  private async markKueueGroupFinished(job: IMoETrainingJob, pods: V1Pod[], signal: AbortSignal): Promise<void> {
    await mapLimit(needFinishMark(job, pods), 32, async (p) => {
      const path = resourcePath('v1', 'Pod', p.metadata!.namespace!, p.metadata!.name!);
      await this.d.client.request('PATCH', path, { body: FINISH_MARK_PATCH, contentType: 'application/merge-patch+json', signal })
        .catch((e: unknown) => { if (!isNotFound(e)) throw e; });
    });
  }

  private async cleanPods(job: IMoETrainingJob, pods: V1Pod[], signal: AbortSignal): Promise<void> {
    const policy = job.spec.cleanPodPolicy ?? 'Running';
    if (policy === 'None') return;
    const doomed = policy === 'All' ? pods : pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    await this.deletePods(doomed, signal);
  }

  private observeCheckpointAge(job: IMoETrainingJob, st: StatusBuilder): void {
    const t = st.status.checkpoints?.latest?.time;
    if (t) this.d.metrics.checkpointAge.set({ namespace: job.metadata!.namespace!, job: job.metadata!.name! }, (this.now().getTime() - Date.parse(t)) / 1000);
  }

  private async ensureFinalizer(job: IMoETrainingJob, signal: AbortSignal): Promise<void> {
    if (job.metadata?.finalizers?.includes(FINALIZER)) return;
    await this.d.client.apply({ apiVersion: API_VERSION, kind: MTJ_KIND, metadata: { name: job.metadata!.name!, namespace: job.metadata!.namespace!, finalizers: [FINALIZER] } }, { signal });
  }

  /** Deletion: remove the pods first (owner references would too, but not before the job is gone), then the finalizer. */
  private async finalize(job: IMoETrainingJob, pods: V1Pod[], signal: AbortSignal): Promise<ReconcileResult | void> {
    const uid = job.metadata!.uid!;
    this.plans.delete(uid);
    this.gangStart.delete(uid);
    this.avoid.delete(uid);
    this.refusedUngated.delete(uid);
    this.written.delete(uid);
    this.writtenAt.delete(uid);
    this.expected.forget(uid);
    this.d.metrics.checkpointAge.remove(job.metadata!.namespace!, job.metadata!.name!);
    if (!job.metadata?.finalizers?.includes(FINALIZER)) return;
    await this.deletePods(pods, signal);
    if (pods.length > 0) return { requeueAfterMs: 500 };
    const path = pathOf({ apiVersion: API_VERSION, kind: MTJ_KIND, metadata: { name: job.metadata!.name!, namespace: job.metadata!.namespace! } });
    const remaining = (job.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    await this.d.client.jsonPatch(
      path,
      [
        { op: 'test', path: '/metadata/resourceVersion', value: job.metadata.resourceVersion },
        { op: 'replace', path: '/metadata/finalizers', value: remaining },
      ],
      signal,
    );
  }

  /** Writes the status if it changed; returns when to look again if a counts-only change was held back. */
  private async writeStatus(job: IMoETrainingJob, st: StatusBuilder, signal: AbortSignal): Promise<number | undefined> {
    if (stableStringify(st.status) === stableStringify(job.status ?? {})) return undefined;
    const uid = job.metadata!.uid!;
    // A starting gang moves its counts on every pod event (hundreds per second at scale): each status write is an SSA
    // on the API server and a watch event back here, in competition with the pods' own writes.
    const since = performance.now() - (this.writtenAt.get(uid) ?? -Infinity);
    if (job.status && !st.events.length && since < COUNTS_WRITE_INTERVAL_MS && countsOnly(job.status, st.status)) return COUNTS_WRITE_INTERVAL_MS - since;
    this.written.delete(uid);
    await this.d.client.apply(
      { apiVersion: API_VERSION, kind: MTJ_KIND, metadata: { name: job.metadata!.name!, namespace: job.metadata!.namespace! }, status: st.status } as IMoETrainingJob & { metadata: { name: string; namespace: string } },
      { subresource: 'status', signal },
    );
    this.written.set(uid, structuredClone(st.status));
    this.writtenAt.set(uid, performance.now());
    return undefined;
  }
}

// InferenceDeployment reconciler (I/O): reads the deployment and its children from the informer caches into
// InfdObserved, decides with the pure decide.ts, applies the decision in order (InferenceRoles, gate releases and gang
// restarts, rollout deletes and gang starts, routers, routes) with create / server-side apply / merge patches, runs
// expert load balancing when due, then writes status once (the InferenceRoles', then the deployment's) and emits the
// events it collected. Bookkeeping of the pods it created and deleted: kube/expectations.ts.
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION, INFD_KIND, INFROLE_KIND, InfdAnnotations, InfdLabels, ROLES, infdNames, type RoleName,
} from '../../api/constants.js';
import { applyDefaults } from '../../api/defaults.js';
import { InferenceDeploymentSchema, type IClusterTopology, type IInferenceDeployment, type IInferenceRole, type IMoETrainingJob } from '../../api/types.gen.js';
import { mapLimit } from '../../kube/concurrency.js';
import type { ReconcileResult } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { Expectations } from '../../kube/expectations.js';
import { allSynced, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import { isNotFound, pathOf, resourcePath, type KObject, type KubeClient } from '../../kube/rest.js';
import { ChildWriter } from '../child-writer.js';
import { releaseGates } from '../gates.js';
import { NameConflictError, WriteBackoff } from '../children.js';
import { stableStringify } from '../mtj/reconciler.js';
import { decide, finishStatus, type InfdDecision, type InfdObserved, type PodAction, type RoleWrite } from './decide.js';
import { depMeta, headlessService, loadConfigMap, placementConfigMap, routerService, routingConfigMap, serveRbac } from './desired.js';
import { addInto, decideRebalance, loadDelta, parseState, smooth, type Reading } from './expert-rebalance.js';
import { PlacementConfigMap, RoutingConfigMap, formatPlacement, formatRoutes, readLoadReports, readPlacement, type RouteTable } from '../../contract/index.js';
import type { ReplicaRestarts } from './restarts.js';
import type { RoleShape } from './spec.js';
import type { InfdStatusBuilder } from './status.js';
import type { ModelConfig } from '../../plan/types.js';

type WithMeta<T> = T & { metadata: any };

export interface InfdDeps {
  client: KubeClient;
  deployments: Informer<WithMeta<IInferenceDeployment>>;
  roles: Informer<WithMeta<IInferenceRole>>;
  pods: Informer<WithMeta<V1Pod>>;
  configMaps: Informer<WithMeta<V1ConfigMap>>;
  nodes: Informer<WithMeta<V1Node>>;
  topologies: Informer<WithMeta<IClusterTopology>>;
  jobs: Informer<WithMeta<IMoETrainingJob>>;
  recorder: EventRecorder;
  log: Logger;
  now?: () => Date;
}

const specSchema = InferenceDeploymentSchema.properties!.spec!;

/** What this process remembers of one deployment between reconciles. */
interface Memory {
  /** The status this process last wrote (the cache may lag behind it). */
  written?: NonNullable<IInferenceDeployment['status']>;
  /** Hash of the shared children last applied. */
  applied?: string;
  routes?: string;
  placementData?: Record<string, string>;
  readings: Map<string, Reading>;
  lastEplb?: number;
  /** role/replica of gangs restarted after a failure and not ready again yet. */
  restarting: Set<string>;
  /** role/replica → failures in a row and restart backoff (restarts.ts); cleared by a new generation. */
  restarts: Map<string, ReplicaRestarts>;
  restartsGeneration?: number;
  /** InferenceRole status last written, per role. */
  roleStatus: Map<string, string>;
}

/** A pod this process created: where its GPUs are until the cache shows it. */
interface Created {
  namespace: string;
  node: string;
  gpus: number;
}

export class InfdReconciler {
  private readonly mem = new Map<string, Memory>();
  /** Per deployment UID, the pods this process created (their GPUs count until the cache shows them) and deleted (a
   *  gang it is tearing down is not a failed one). */
  private readonly expected = new Expectations<Created>();
  /** Deployments whose child writes were refused: no retry before their backoff ends (see children.ts). */
  private readonly writeBackoff = new WriteBackoff();

  constructor(private readonly d: InfdDeps) {}

  private now(): Date {
    return this.d.now ? this.d.now() : new Date();
  }

  private memo(uid: string): Memory {
    let m = this.mem.get(uid);
    if (!m) this.mem.set(uid, (m = { readings: new Map(), restarting: new Set(), restarts: new Map(), roleStatus: new Map() }));
    return m;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.d.deployments.get(name, namespace);
    if (!cached) {
      for (const [uid, _] of this.mem) {
        if (this.d.deployments.list().some((x) => x.metadata?.uid === uid)) continue;
        this.mem.delete(uid);
        this.expected.forget(uid);
      }
      return;
    }
    // Pods, nodes and topologies are never concluded missing from a cache that has not listed yet (issue 19 item 9).
    if (!allSynced(this.d.roles, this.d.pods, this.d.configMaps, this.d.nodes, this.d.topologies, this.d.jobs)) return { requeueAfterMs: 1000 };
    const m = this.memo(cached.metadata.uid);
    const dep: IInferenceDeployment = { ...cached, apiVersion: API_VERSION, kind: INFD_KIND, spec: applyDefaults(specSchema, cached.spec), ...(m.written ? { status: m.written } : {}) };
    const d = decide(dep, this.observe(dep, m));
    // The InferenceRoles' status is written only when every write of the decision went through.
    const done: { roles: Extract<InfdDecision, { hold: false }>['roleStatuses'] } = { roles: {} };
    const result = await this.writeBackoff.guard(cached.metadata.uid, dep.metadata?.generation ?? 0, () => this.now().getTime(), d.status, async () => {
      const r = await this.apply(dep, m, d, signal);
      if (!d.hold) done.roles = d.roleStatuses;
      return r;
    });
    await this.writeStatus(dep, m, d.status, done.roles, signal);
    if (d.status.events.length) void this.d.recorder.emitAll(dep, d.status.events);
    return result;
  }

  /** What the caches show of the deployment and its surroundings, and what this process remembers. */
  private observe(dep: IInferenceDeployment, m: Memory): InfdObserved {
    const { name, namespace, uid } = depMeta(dep);
    const pods = this.d.pods.list(namespace).filter((p) => p.metadata?.ownerReferences?.some((o: { uid: string }) => o.uid === uid)) as V1Pod[];
    this.expected.observe(uid, pods.map((p) => p.metadata!.name!));
    const { creating, deleting } = this.expected.pendingOf(uid);
    const roles: InfdObserved['roles'] = {};
    for (const r of ROLES) {
      const ir = this.d.roles.get(infdNames(name).role(r), namespace) as IInferenceRole | undefined;
      if (ir) roles[r] = ir;
    }
    const job = dep.spec.model.trainingJob ? (this.d.jobs.get(dep.spec.model.trainingJob.name, namespace) as IMoETrainingJob | undefined) : undefined;
    const now = this.now();
    // Reports of live leader pods only: a deleted pod's last report stays in the ConfigMap.
    const live = new Set(pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!));
    const loadReports = readLoadReports(this.d.configMaps.get(infdNames(name).loadConfigMap, namespace)?.data).filter((x) => live.has(x.pod));
    return {
      now,
      job,
      loadReports,
      topology: this.d.topologies.get(dep.spec.topologyRef?.name ?? 'default') as IClusterTopology | undefined,
      roles,
      pods,
      nodes: this.d.nodes.list() as V1Node[],
      managedPods: this.d.pods.list() as V1Pod[],
      inFlight: this.expected.inFlight((pn, c) => !!this.d.pods.get(pn, c.namespace)).map((c) => ({ node: c.node, gpus: c.gpus })),
      creating,
      deleting,
      backoffMs: this.writeBackoff.wait(uid, dep.metadata?.generation ?? 0, now.getTime()),
      memory: { restarts: m.restarts, restarting: m.restarting, generation: m.restartsGeneration },
    };
  }

  /** Writes what `decide` chose, in order; a refused write stops here (WriteBackoff.guard turns it into a condition). */
  private async apply(dep: IInferenceDeployment, m: Memory, d: InfdDecision, signal: AbortSignal): Promise<ReconcileResult | void> {
    if (d.hold) return d.result;
    const st = d.status;
    const { uid } = depMeta(dep);
    await this.applyShared(dep, m, signal);
    for (const w of d.roleWrites) await this.writeRole(dep, w, st, signal);

    // Gangs as found: complete gated ones released, broken ones torn down (each failure remembered once deleted).
    if (m.restartsGeneration !== d.memory.generation) {
      m.restarts.clear(); // a changed spec gets a fresh budget
      m.restartsGeneration = d.memory.generation;
    }
    for (const a of d.gangs) {
      if ('release' in a) {
        await this.release(a.release, signal);
        continue;
      }
      await this.deletePods(uid, a.restart, signal);
      m.restarts.set(a.key, a.record);
      m.restarting.add(a.key);
      st.replicaFailed(a.failed.role, a.failed.replica, a.failed.why, a.failed.next, a.failed.exhausted);
    }
    m.restarts = new Map(d.memory.restarts);
    m.restarting = new Set(d.memory.restarting);

    // Scale and roll out: whole gangs deleted, placed gangs created behind the gate and released together.
    for (const a of d.rollout) {
      if ('delete' in a) await this.deletePods(uid, a.delete, signal);
      else await this.startGang(dep, a, d.shapes[a.role], signal);
      for (const e of 'delete' in a ? [a.event] : a.events) st.event(e.type, e.reason, e.message);
    }

    // Routers, then the routes of the replicas that are ready.
    for (const e of d.routers.events) st.event(e.type, e.reason, e.message);
    await this.deletePods(uid, d.routers.delete, signal);
    for (const p of d.routers.create) await this.writer(dep).createPod(p, signal); // someone else's pod of the name: NameConflict
    await this.applyRoutes(dep, m, d.routes, signal);

    // Expert load balancing, when due; then the status the writes add up to.
    const eplbWait = await this.eplb(dep, m, d.shapes, d.model, st, signal);
    finishStatus(st, d.summary);
    this.writeBackoff.succeeded(uid);
    st.writesSucceeded();
    const waits = [d.requeueAfterMs, eplbWait].filter((x): x is number => x !== undefined);
    return waits.length ? { requeueAfterMs: Math.min(...waits) } : undefined;
  }

  /** Creates the InferenceRole, or checks it is this deployment's and propagates a changed spec replica count once. */
  private async writeRole(dep: IInferenceDeployment, w: RoleWrite, st: InfdStatusBuilder, signal: AbortSignal): Promise<void> {
    if ('create' in w) {
      await this.writer(dep).create(w.create, signal); // someone else's of the name: NameConflict
      return;
    }
    this.writer(dep).check({ ...w.existing, kind: INFROLE_KIND });
    if (!w.propagate) return;
    // The deployment's value changed since it was last copied (GitOps edit): it wins over the autoscaler's.
    const { namespace, name } = depMeta(dep);
    await this.d.client.mergePatch(pathOf({ apiVersion: API_VERSION, kind: INFROLE_KIND, metadata: { name: infdNames(name).role(w.role), namespace } }), {
      metadata: { annotations: { [InfdAnnotations.propagatedReplicas]: String(w.propagate.replicas) } },
      spec: { replicas: w.propagate.replicas },
    }, signal);
    if (w.propagate.event) st.event(w.propagate.event.type, w.propagate.event.reason, w.propagate.event.message);
  }

  /** Creates a placed replica's pods behind the gate and releases them together; half a gang is deleted again. */
  private async startGang(dep: IInferenceDeployment, a: Extract<PodAction, { start: V1Pod[] }>, s: RoleShape, signal: AbortSignal): Promise<void> {
    const { namespace, uid } = depMeta(dep);
    const made: V1Pod[] = [];
    const w = this.writer(dep);
    const errors = new Map<number, unknown>();
    await mapLimit([...a.start.keys()], 16, async (i) => {
      const p = a.start[i]!;
      try {
        // A pod of the name that this deployment does not control is a NameConflict: never released, never deleted.
        made.push(await w.createPod(p, signal));
        this.expected.expectCreation(uid, p.metadata!.name!, { namespace, node: p.spec!.nodeSelector!['kubernetes.io/hostname']!, gpus: s.gpusPerPod });
      } catch (e) {
        errors.set(i, e);
      }
    });
    if (errors.size) {
      await this.deletePods(uid, made, signal); // half a gang is no gang: the next try starts it whole
      // A conflict first, else the lowest index's error: a retry refused the same way repeats the same message.
      const byIndex = [...errors.keys()].sort((x, y) => x - y).map((i) => errors.get(i));
      throw byIndex.find((e) => e instanceof NameConflictError) ?? byIndex[0];
    }
    await this.release(made, signal);
  }

  private writer(dep: IInferenceDeployment): ChildWriter {
    const { name, uid } = depMeta(dep);
    return new ChildWriter(this.d.client, { kind: INFD_KIND, name, uid });
  }

  private cachedConfigMap = (o: KObject): KObject | undefined => (o.kind === 'ConfigMap' ? this.d.configMaps.get(o.metadata!.name!, o.metadata!.namespace) : undefined);

  private async release(pods: readonly V1Pod[], signal: AbortSignal): Promise<void> {
    await releaseGates(this.d.client, pods, signal);
  }

  private async deletePods(uid: string, pods: readonly V1Pod[], signal: AbortSignal): Promise<void> {
    await mapLimit(
      pods.filter((p) => !p.metadata?.deletionTimestamp),
      16,
      async (p) => {
        this.expected.expectDeletion(uid, p.metadata!.name!);
        await this.d.client.delete(resourcePath('v1', 'Pod', p.metadata!.namespace!, p.metadata!.name!), { gracePeriodSeconds: 0, signal });
      },
    );
  }

  /** Services, the load ConfigMap and the serving RBAC; applied again when the spec changes or one vanished. */
  private async applyShared(dep: IInferenceDeployment, m: Memory, signal: AbortSignal): Promise<void> {
    const { namespace, name } = depMeta(dep);
    const n = infdNames(name);
    const objs = [headlessService(dep), routerService(dep), loadConfigMap(dep), ...serveRbac(dep)];
    const h = stableStringify(objs);
    const present = this.d.configMaps.get(n.loadConfigMap, namespace);
    if (m.applied === h && present) return;
    const newPlacement = !this.d.configMaps.get(n.placementConfigMap, namespace) && !m.placementData;
    // In order: the API server's escalation check reads a Role when its RoleBinding is created. Nothing is written
    // while any of the names is taken by an object this deployment does not control (NameConflict).
    await this.writer(dep).applyAll([...objs, ...(newPlacement ? [placementConfigMap(dep, {})] : [])], signal, this.cachedConfigMap);
    if (newPlacement) m.placementData = {};
    m.applied = h;
  }

  private async applyRoutes(dep: IInferenceDeployment, m: Memory, doc: RouteTable, signal: AbortSignal): Promise<void> {
    const text = formatRoutes(doc);
    const cached = this.d.configMaps.get(infdNames(depMeta(dep).name).routingConfigMap, depMeta(dep).namespace)?.data?.[RoutingConfigMap.key];
    if (m.routes === text && cached !== undefined) return;
    if (cached === text) {
      m.routes = text;
      return;
    }
    await this.writer(dep).applyAll([routingConfigMap(dep, doc)], signal, this.cachedConfigMap);
    m.routes = text;
  }

  private async writeRoleStatus(dep: IInferenceDeployment, m: Memory, role: RoleName, status: NonNullable<IInferenceRole['status']>, signal: AbortSignal): Promise<void> {
    const { namespace, name } = depMeta(dep);
    const rn = infdNames(name).role(role);
    const ir = this.d.roles.get(rn, namespace) as IInferenceRole | undefined;
    if (!ir) return;
    const full = status;
    const text = stableStringify(full);
    if (m.roleStatus.get(role) === text && stableStringify(ir.status ?? {}) === text) return;
    if (stableStringify(ir.status ?? {}) === text) {
      m.roleStatus.set(role, text);
      return;
    }
    try {
      await this.d.client.mergePatch(pathOf({ apiVersion: API_VERSION, kind: INFROLE_KIND, metadata: { name: rn, namespace } }, 'status'), { status: full }, signal);
      m.roleStatus.set(role, text);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** One EPLB round per role when the interval has passed; returns ms until the next round. */
  private async eplb(dep: IInferenceDeployment, m: Memory, shapes: Record<RoleName, RoleShape>, arch: ModelConfig | undefined, st: InfdStatusBuilder, signal: AbortSignal): Promise<number | undefined> {
    const e = dep.spec.eplb ?? {};
    const intervalMs = (e.intervalSeconds ?? 60) * 1000;
    if (intervalMs <= 0) return undefined;
    const now = Date.now();
    if (m.lastEplb !== undefined && now - m.lastEplb < intervalMs) return intervalMs - (now - m.lastEplb);
    m.lastEplb = now;
    const { namespace, name } = depMeta(dep);
    const n = infdNames(name);
    // Only reports of this deployment's live leader pods count; a deleted pod's last report stays in the ConfigMap.
    const live = new Set(this.d.pods.list(namespace).filter((p) => p.metadata?.labels?.[InfdLabels.deployment] === name && !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!));
    const reports = readLoadReports(this.d.configMaps.get(n.loadConfigMap, namespace)?.data).filter((x) => live.has(x.pod));
    for (const pod of m.readings.keys()) if (!live.has(pod)) m.readings.delete(pod);
    if (!reports.length) return intervalMs;
    const data = { ...(m.placementData ?? this.d.configMaps.get(n.placementConfigMap, namespace)?.data ?? {}) };
    const state = parseState(data[PlacementConfigMap.stateKey]);
    let changed = false;
    for (const r of ROLES) {
      let delta: number[][] | undefined;
      for (const rep of reports.filter((x) => x.role === r)) {
        const dl = loadDelta(m.readings.get(rep.pod), rep);
        m.readings.set(rep.pod, { startedAt: rep.startedAt, counts: rep.counts });
        if (delta && (delta.length !== dl.length || delta[0]!.length !== dl[0]!.length)) continue; // a report of another shape
        delta = addInto(delta, dl);
      }
      if (!delta || delta.every((row) => row.every((v) => v === 0))) continue;
      const smoothed = smooth(state.smoothed[r], delta, e.smoothing ?? 0.8);
      state.smoothed[r] = smoothed;
      changed = true;
      const experts = smoothed[0]!.length;
      const s = shapes[r];
      if (arch && arch.n_routed_experts !== experts) {
        st.event('Warning', 'EplbSkipped', `${r}: load reports count ${experts} experts, the model has ${arch.n_routed_experts}`);
        continue;
      }
      const dec = decideRebalance({
        load: smoothed,
        current: readPlacement(data[r]),
        slots: experts + s.redundantExperts,
        groups: e.policy === 'global' ? 1 : (arch?.n_group ?? 1),
        nodes: s.pods,
        gpus: s.ep,
        minImprovement: e.minImprovement ?? 0.05,
      });
      if (!dec.ok) {
        st.event('Warning', 'EplbSkipped', `${r}: ${dec.error}`);
        continue;
      }
      if (!dec.publish) continue;
      const version = (readPlacement(data[r])?.version ?? 0) + 1;
      data[r] = formatPlacement({ version, ...dec.placement });
      st.placementPublished(r, version, dec.before, dec.after);
    }
    if (changed) {
      data[PlacementConfigMap.stateKey] = JSON.stringify(state);
      await this.writer(dep).applyAll([placementConfigMap(dep, data)], signal, this.cachedConfigMap);
      m.placementData = data;
    }
    return intervalMs;
  }

  /** The one status write of a reconcile: the InferenceRoles' (when the decision was applied), then the deployment's. */
  private async writeStatus(dep: IInferenceDeployment, m: Memory, st: InfdStatusBuilder, roles: Partial<Record<RoleName, NonNullable<IInferenceRole['status']>>>, signal: AbortSignal): Promise<void> {
    for (const r of ROLES) {
      const s = roles[r];
      if (s) await this.writeRoleStatus(dep, m, r, s, signal);
    }
    if (stableStringify(st.status) === stableStringify(dep.status ?? {})) return;
    delete m.written;
    await this.d.client.apply(
      { apiVersion: API_VERSION, kind: INFD_KIND, metadata: { name: dep.metadata!.name!, namespace: dep.metadata!.namespace! }, status: st.status } as IInferenceDeployment & { metadata: { name: string; namespace: string } },
      { subresource: 'status', signal },
    );
    m.written = structuredClone(st.status);
  }
}

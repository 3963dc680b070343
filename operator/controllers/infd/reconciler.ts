// InferenceDeployment reconciler: reads the deployment and its children from informer caches, decides with the pure
// helpers (validate, model, gangs, rollout, eplb, status), writes children with create / server-side apply / merge
// patches, then writes status once and emits the events it collected.
import type { V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import {
  API_VERSION, FIELD_MANAGER, INFD_KIND, INFROLE_KIND, InfdAnnotations, InfdLabels, InfdReason, ROLES, SCHEDULING_GATE, infdNames, type RoleName,
} from '../../api/constants.js';
import { applyDefaults } from '../../api/defaults.js';
import { InferenceDeploymentSchema, type IClusterTopology, type IInferenceDeployment, type IInferenceRole, type IMoETrainingJob } from '../../api/types.gen.js';
import type { ReconcileResult } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { allSynced, type Informer } from '../../kube/informer.js';
import type { Logger } from '../../kube/log.js';
import type { OperatorMetrics } from '../../kube/metrics.js';
import { isNotFound, pathOf, resourcePath, type KObject, type KubeClient } from '../../kube/rest.js';
import { ChildWriter } from '../child-writer.js';
import { NameConflictError, WriteBackoff, childWriteError } from '../children.js';
import { describeRestart, holdOf, observeReadiness, recordFailure, restartPolicy, type ReplicaRestarts } from './restarts.js';
import { placeGang } from '../../plan/placement/gang.js';
import type { TopologySpec } from '../../plan/types.js';
import { gpusInUse, toNodeLike } from '../mtj/plan-input.js';
import { stableStringify } from '../mtj/reconciler.js';
import {
  depMeta, headlessService, inferenceRole, loadConfigMap, placementConfigMap, roleRevision, rolePod, roleSelector, routerPod, routerRevision, routerService, routerUrl,
  routesDocument, routingConfigMap, serveRbac, servePort, type Route, type ServeContext,
} from './desired.js';
import { addInto, decideRebalance, loadDelta, parseState, smooth, type Reading } from './expert-rebalance.js';
import { PlacementConfigMap, RoutingConfigMap, formatPlacement, formatRoutes, readLoadReports, readPlacement, type RouteTable } from '../../contract/index.js';
import { gangReleasedMessage, isPodReady, observeGangs, type Gang } from './gangs.js';
import { resolveArchitecture, resolveModelSource } from './model-source.js';
import { decideRollout, type RoleRolloutInput } from './rollout.js';
import { roleShape, rolloutBounds, type RoleShape } from './spec.js';
import { InfdStatusBuilder } from './status.js';
import { validateDeployment } from './validate.js';
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
  metrics: OperatorMetrics;
  log: Logger;
  now?: () => Date;
}

/** How long a pod this process created may be absent from its cache before it counts as deleted. */
const CACHE_LAG_MS = 60_000;
const specSchema = InferenceDeploymentSchema.properties!.spec!;
const GATE_PATCH = { spec: { schedulingGates: [{ name: SCHEDULING_GATE, $patch: 'delete' }] } };

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

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

export class InfdReconciler {
  private readonly mem = new Map<string, Memory>();
  /** Pods this process created, by namespace/name: when, and the GPUs they hold until the cache shows them. */
  private readonly created = new Map<string, { at: number; node: string; gpus: number }>();
  /** Pods this process has seen in its cache (a later absence is a deletion, not cache lag). */
  private readonly seen = new Set<string>();
  /** Pods this process deleted, by namespace/name (a gang it is tearing down is not a failed one). */
  private readonly deleted = new Map<string, number>();
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
      for (const [uid, _] of this.mem) if (!this.d.deployments.list().some((x) => x.metadata?.uid === uid)) this.mem.delete(uid);
      return;
    }
    // Pods, nodes and topologies are never concluded missing from a cache that has not listed yet (issue 19 item 9).
    if (!allSynced(this.d.roles, this.d.pods, this.d.configMaps, this.d.nodes, this.d.topologies, this.d.jobs)) return { requeueAfterMs: 1000 };
    const m = this.memo(cached.metadata.uid);
    const dep: IInferenceDeployment = { ...cached, apiVersion: API_VERSION, kind: INFD_KIND, spec: applyDefaults(specSchema, cached.spec), ...(m.written ? { status: m.written } : {}) };
    const st = new InfdStatusBuilder(dep, this.now());
    const result = await this.writeBackoff.guard(cached.metadata.uid, dep.metadata?.generation ?? 0, () => this.now().getTime(), st,
      () => this.steps(dep, m, st, signal));
    await this.writeStatus(dep, m, st, signal);
    if (st.events.length) void this.d.recorder.emitAll(dep, st.events);
    return result;
  }

  /** The reconcile proper, as a list of short steps. */
  private async steps(dep: IInferenceDeployment, m: Memory, st: InfdStatusBuilder, signal: AbortSignal): Promise<ReconcileResult | void> {
    const { name, namespace, uid } = depMeta(dep);
    const pods = this.d.pods.list(namespace).filter((p) => p.metadata?.ownerReferences?.some((o: { uid: string }) => o.uid === uid)) as V1Pod[];
    for (const p of pods) this.seen.add(`${namespace}/${p.metadata!.name}`);

    // 1. The training job (when the model comes from one), the architecture, and the checks the schema cannot do.
    const job = dep.spec.model.trainingJob ? (this.d.jobs.get(dep.spec.model.trainingJob.name, namespace) as IMoETrainingJob | undefined) : undefined;
    const arch = resolveArchitecture(dep, job);
    const errs = [...arch.errors, ...validateDeployment(dep, arch.model)];
    if (errs.length) {
      st.invalid(errs); // running pods keep serving the last valid spec
      return;
    }
    st.valid();

    // 2. The model: wait for the training job to succeed before starting anything.
    const src = resolveModelSource(dep, job);
    if (!src.ready) {
      st.modelWaiting(src.reason, src.message);
      st.waitingForModel();
      return;
    }
    st.modelReady(src.uri, src.resolvedFrom, src.message);

    // 3. Topology (GPU resource names) and the shared children: Services, load ConfigMap, RBAC.
    const topoName = dep.spec.topologyRef?.name ?? 'default';
    const topo = this.d.topologies.get(topoName) as IClusterTopology | undefined;
    if (!topo) st.blockedBy(InfdReason.TopologyNotFound, `ClusterTopology ${topoName} not found (spec.topologyRef.name); create it or install the chart's default`);
    const ctx: ServeContext = {
      modelUri: src.uri,
      gpuResource: topo?.spec.gpuResource ?? 'nvidia.com/gpu',
      rdmaResource: topo?.spec.rdmaResource ?? 'rdma/ib',
      ...(topo?.spec.nodeSelector ? { fleetSelector: topo.spec.nodeSelector } : {}),
    };
    // Refused writes back off: nothing is written (and the status stays as last written) until the delay is over.
    const wait = this.writeBackoff.wait(uid, dep.metadata?.generation ?? 0, this.now().getTime());
    if (wait > 0) return { requeueAfterMs: wait };
    await this.applyShared(dep, m, signal);

    // 4. Desired replicas per role from the InferenceRoles (created here; spec changes propagated once).
    const shapes = Object.fromEntries(ROLES.map((r) => [r, roleShape(dep, r)])) as Record<RoleName, RoleShape>;
    const desired = {} as Record<RoleName, number>;
    for (const r of ROLES) desired[r] = await this.ensureRole(dep, shapes[r], st, signal);

    // 5. Gangs per role; failed or broken gangs are restarted as a unit.
    const revisions = Object.fromEntries(ROLES.map((r) => [r, roleRevision(dep, shapes[r], ctx)])) as Record<RoleName, string>;
    const gangs = {} as Record<RoleName, Gang[]>;
    const restartedNow = new Set<string>();
    const policy = restartPolicy(dep);
    const nowMs = this.now().getTime();
    if (m.restartsGeneration !== dep.metadata?.generation) {
      m.restarts.clear(); // a changed spec gets a fresh budget
      m.restartsGeneration = dep.metadata?.generation ?? 0;
    }
    for (const r of ROLES) {
      gangs[r] = observeGangs(pods, r, shapes[r].pods);
      for (const g of gangs[r]) {
        // Only deletions this process made mean "going away"; a pod deleted by someone else breaks the replica.
        g.terminating = this.deletedByUs(g, shapes[r], name, namespace);
        const broken = this.brokenReason(g, shapes[r], name, namespace);
        if (!broken) {
          if (g.gated && g.pods.length === shapes[r].pods && !g.terminating) await this.release(g.pods, signal); // created before an operator restart
          continue;
        }
        await this.deletePods(g.pods, signal);
        restartedNow.add(`${r}/${g.replica}`);
        const rec = recordFailure(m.restarts.get(`${r}/${g.replica}`), policy, nowMs);
        m.restarts.set(`${r}/${g.replica}`, rec.next);
        st.replicaFailed(r, g.replica, broken, describeRestart({ ...rec, failures: rec.next.failures }, policy), rec.exhausted);
        m.restarting.add(`${r}/${g.replica}`);
      }
    }

    // Replicas held down after failures (backoff, or out of budget) keep their index: no stand-in is started.
    const held = {} as Record<RoleName, number[]>;
    const holdWaits: number[] = [];
    for (const r of ROLES) {
      held[r] = [];
      for (const [key, rec] of m.restarts) {
        const [role, rep] = key.split('/') as [RoleName, string];
        if (role !== r) continue;
        const g = gangs[r].find((x) => x.replica === Number(rep));
        if (g && !restartedNow.has(key) && !g.terminating) {
          // A live gang: track its readiness; a long enough ready spell forgets the failures.
          const next = observeReadiness(rec, g.ready, nowMs);
          if (next) m.restarts.set(key, next);
          else m.restarts.delete(key);
          continue;
        }
        if (Number(rep) >= desired[r]) {
          m.restarts.delete(key); // scaled away
          continue;
        }
        const hold = holdOf(rec, policy, nowMs);
        if (!hold) continue;
        held[r].push(Number(rep));
        st.restartHeld(r, Number(rep), hold);
        if (hold.reason === 'RestartBackoff') holdWaits.push(hold.waitMs);
      }
    }

    // 6. Scale and roll out: the pure decision, then deletes and gang starts.
    const inputs: RoleRolloutInput[] = ROLES.map((r) => ({
      role: r,
      desired: desired[r],
      revision: revisions[r],
      ...rolloutBounds(dep, desired[r]),
      gangs: [
        ...gangs[r].map((g) => ({ replica: g.replica, revision: g.revision, ready: g.ready, terminating: g.terminating || restartedNow.has(`${r}/${g.replica}`) })),
        // A held replica counts as one still draining: its index stays reserved and nothing stands in for it.
        ...held[r].filter((rep) => !gangs[r].some((g) => g.replica === rep)).map((rep) => ({ replica: rep, revision: revisions[r], ready: false, terminating: true })),
      ],
      preferred: [...new Set([...[...m.restarting].filter((k) => k.startsWith(`${r}/`)).map((k) => Number(k.split('/')[1])), ...held[r]])],
    }));
    const decisions = decideRollout(inputs);
    let used: Map<string, number> | undefined;
    for (const r of ROLES) {
      const dec = decisions[r]!;
      for (const replica of dec.delete) {
        const g = gangs[r].find((x) => x.replica === replica)!;
        await this.deletePods(g.pods, signal);
        if (dec.rolling && g.revision !== revisions[r]) st.event('Normal', InfdReason.RolloutStep, `${r}: deleted replica ${replica} at old revision ${g.revision || '?'} (${dec.updated}/${desired[r]} updated, ${dec.ready} ready)`);
        else st.event('Normal', InfdReason.ScaledDown, `${r}: deleted replica ${replica} (desired ${desired[r]})`);
      }
      for (const replica of dec.create) {
        if (!topo) break;
        used ??= this.gpusUsed(ctx.gpuResource);
        const ok = await this.startGang(dep, shapes[r], replica, ctx, revisions[r], topo, used, st, signal);
        if (!ok) break;
        if (m.restarting.has(`${r}/${replica}`)) continue; // a restart, already reported
        if (dec.rolling) st.event('Normal', InfdReason.RolloutStep, `${r}: started replica ${replica} at revision ${revisions[r]} (${dec.updated + 1}/${desired[r]} updated)`);
        else st.event('Normal', InfdReason.ScaledUp, `${r}: started replica ${replica} (desired ${desired[r]})`);
      }
    }

    // 7. Routers (not gated, no GPUs).
    const routerReady = await this.reconcileRouters(dep, pods, ctx, st, signal);

    // 8. Routing: leader URLs of every replica whose pods are all running and ready.
    const routes = {} as Record<RoleName, Route[]>;
    for (const r of ROLES) {
      routes[r] = gangs[r]
        .filter((g) => g.ready && !restartedNow.has(`${r}/${g.replica}`) && !decisions[r]!.delete.includes(g.replica) && g.pods[0]?.status?.podIP)
        .map((g) => ({ replica: g.replica, url: `http://${g.pods[0]!.status!.podIP}:${servePort(dep)}` }));
    }
    await this.applyRoutes(dep, m, routesDocument(dep, routes), signal);

    // 9. Degraded: replicas restarted after a failure stay on the list until ready again.
    for (const key of [...m.restarting]) {
      if (restartedNow.has(key)) continue;
      const [r, rep] = key.split('/') as [RoleName, string];
      const g = gangs[r].find((x) => x.replica === Number(rep));
      const liveCount = gangs[r].filter((x) => !x.terminating && !restartedNow.has(`${r}/${x.replica}`)).length + decisions[r]!.create.length;
      // Done when ready again, or when it is gone and not coming back (scaled down meanwhile).
      if (g?.ready || (!g && !decisions[r]!.create.includes(Number(rep)) && liveCount >= desired[r])) m.restarting.delete(key);
      else if (!held[r].includes(Number(rep))) st.recovering(r, Number(rep)); // held ones are reported with their hold
    }

    // 10. Expert load balancing, when due.
    const eplbWait = await this.eplb(dep, m, shapes, arch.model, st, signal);

    // 11. Status of the roles, the router and the InferenceRoles.
    let inFlight = false;
    for (const r of ROLES) {
      const live = gangs[r].filter((g) => !g.terminating && !restartedNow.has(`${r}/${g.replica}`) && !decisions[r]!.delete.includes(g.replica));
      const current = live.length + decisions[r]!.create.length;
      const ready = live.filter((g) => g.ready).length;
      const updated = live.filter((g) => g.revision === revisions[r]).length + decisions[r]!.create.length;
      const settling = current !== desired[r] || ready !== desired[r] || gangs[r].some((g) => g.terminating);
      inFlight ||= settling || decisions[r]!.rolling;
      st.role(r, { desired: desired[r], current, ready, updated, revision: revisions[r], endpoints: routes[r].map((x) => x.url), rolling: decisions[r]!.rolling || updated < desired[r], settling, ...(decisions[r]!.waiting ? { waiting: decisions[r]!.waiting } : {}) });
      await this.writeRoleStatus(dep, m, r, { replicas: current, readyReplicas: ready, updatedReplicas: updated, selector: roleSelector(dep, r) }, signal);
    }
    const routers = dep.spec.router?.replicas ?? 1;
    st.router(routers, routerReady, routerUrl(dep));
    inFlight ||= routerReady !== routers;
    st.finish();
    this.writeBackoff.succeeded(uid);
    st.writesSucceeded();
    const waits = [inFlight ? 2000 : undefined, eplbWait, topo ? undefined : 30_000, holdWaits.length ? Math.min(...holdWaits) : undefined].filter((x): x is number => x !== undefined);
    return waits.length ? { requeueAfterMs: Math.min(...waits) } : undefined;
  }

  /** Why a gang must restart as a unit, or undefined when it is fine (or still starting). */
  private brokenReason(g: Gang, s: RoleShape, name: string, namespace: string): string | undefined {
    if (g.terminating) return undefined;
    if (g.deleting.length) return `pod ${g.deleting[0]} was deleted`;
    if (g.failed) return `pod ${g.failed.pod} ${g.failed.reason}${g.failed.node ? ` on ${g.failed.node}` : ''}`;
    for (const p of g.pods) {
      const node = p.spec?.nodeName;
      if (node && !this.d.nodes.get(node)) return `node ${node} of pod ${p.metadata?.name} no longer exists`;
    }
    if (g.pods.length === s.pods) return undefined;
    const have = new Set(g.pods.map((p) => p.metadata?.name));
    for (let i = 0; i < s.pods; i++) {
      const pn = infdNames(name).pod(s.role, g.replica, i);
      if (have.has(pn)) continue;
      const k = `${namespace}/${pn}`;
      const made = this.created.get(k);
      // A pod this process just created may not be in its cache yet; one it has seen, or an old one, was deleted.
      if (!this.seen.has(k) && made && Date.now() - made.at < CACHE_LAG_MS) continue;
      return `pod ${pn} was deleted`;
    }
    return undefined;
  }

  private deletedByUs(g: Gang, s: RoleShape, name: string, namespace: string): boolean {
    const now = Date.now();
    for (const [k, at] of this.deleted) {
      const [ns, pn] = k.split('/') as [string, string];
      if (now - at > CACHE_LAG_MS && !this.d.pods.get(pn, ns)) this.deleted.delete(k);
    }
    for (let i = 0; i < s.pods; i++) if (this.deleted.has(`${namespace}/${infdNames(name).pod(s.role, g.replica, i)}`)) return true;
    return false;
  }

  /** GPUs held per node by every pod the operator manages, plus pods it created that its cache does not show yet. */
  private gpusUsed(gpuResource: string): Map<string, number> {
    const all = this.d.pods.list() as V1Pod[];
    const used = gpusInUse(all, gpuResource, '', '');
    const now = Date.now();
    for (const [k, c] of this.created) {
      const [ns, pn] = k.split('/') as [string, string];
      if (this.d.pods.get(pn, ns) || now - c.at > CACHE_LAG_MS) {
        if (now - c.at > CACHE_LAG_MS && !this.d.pods.get(pn, ns)) this.created.delete(k);
        continue;
      }
      used.set(c.node, (used.get(c.node) ?? 0) + c.gpus);
    }
    return used;
  }

  /** Places one replica with the shared planner, creates its pods behind the gate, and releases them together. */
  private async startGang(dep: IInferenceDeployment, s: RoleShape, replica: number, ctx: ServeContext, revision: string, topo: IClusterTopology, used: Map<string, number>, st: InfdStatusBuilder, signal: AbortSignal): Promise<boolean> {
    const { namespace } = depMeta(dep);
    const tpl = (dep.spec.template as { spec?: { tolerations?: Array<{ key?: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: string }> } } | undefined)?.spec;
    const res = placeGang({
      nodes: toNodeLike(this.d.nodes.list() as V1Node[], used, ctx.gpuResource),
      topology: topo.spec as TopologySpec,
      pods: s.pods,
      gpusPerPod: s.gpusPerPod,
      tolerations: [...(tpl?.tolerations ?? []), { key: ctx.gpuResource, operator: 'Exists' }],
    });
    if (!res.ok) {
      st.blockedBy(InfdReason.InsufficientCapacity, `${s.role} replica ${replica}: ${res.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
      return false;
    }
    const place = res.placement;
    const podsToMake = place.nodeSelectors.map((sel, i) => rolePod(dep, s, replica, i, ctx, revision, sel));
    const made: V1Pod[] = [];
    const w = this.writer(dep);
    const errors = new Map<number, unknown>();
    await mapLimit([...podsToMake.keys()], 16, async (i) => {
      try {
        // A pod of the name that this deployment does not control is a NameConflict: never released, never deleted.
        made.push(await w.createPod(podsToMake[i]!, signal));
        this.track(podsToMake[i]!, namespace, s, used);
      } catch (e) {
        errors.set(i, e);
      }
    });
    if (errors.size) {
      await this.deletePods(made, signal); // half a gang is no gang: the next try starts it whole
      // A conflict first, else the lowest index's error: a retry refused the same way repeats the same message.
      const byIndex = [...errors.keys()].sort((a, b) => a - b).map((i) => errors.get(i));
      throw byIndex.find((e) => e instanceof NameConflictError) ?? byIndex[0];
    }
    await this.release(made, signal);
    st.event('Normal', InfdReason.GangReleased, gangReleasedMessage(s.role, replica, place.nodes, place.leaves));
    return true;
  }

  /** Remembers a pod this process created (its GPUs count until the cache shows it). */
  private track(p: V1Pod, namespace: string, s: RoleShape, used: Map<string, number>): void {
    const node = p.spec!.nodeSelector!['kubernetes.io/hostname']!;
    this.deleted.delete(`${namespace}/${p.metadata!.name}`);
    this.created.set(`${namespace}/${p.metadata!.name}`, { at: Date.now(), node, gpus: s.gpusPerPod });
    used.set(node, (used.get(node) ?? 0) + s.gpusPerPod);
  }

  private writer(dep: IInferenceDeployment): ChildWriter {
    const { name, uid } = depMeta(dep);
    return new ChildWriter(this.d.client, { kind: INFD_KIND, name, uid });
  }

  private cachedConfigMap = (o: KObject): KObject | undefined => (o.kind === 'ConfigMap' ? this.d.configMaps.get(o.metadata!.name!, o.metadata!.namespace) : undefined);

  private async release(pods: readonly V1Pod[], signal: AbortSignal): Promise<void> {
    await mapLimit(
      pods.filter((p) => (p.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE)),
      16,
      async (p) => {
        await this.d.client
          .request('PATCH', resourcePath('v1', 'Pod', p.metadata!.namespace!, p.metadata!.name!), { body: GATE_PATCH, contentType: 'application/strategic-merge-patch+json', query: { fieldManager: FIELD_MANAGER }, signal })
          .catch((e: unknown) => {
            throw childWriteError('patch', { kind: 'Pod', metadata: { name: p.metadata!.name!, namespace: p.metadata!.namespace! } }, e);
          });
      },
    );
  }

  private async deletePods(pods: readonly V1Pod[], signal: AbortSignal): Promise<void> {
    await mapLimit(
      pods.filter((p) => !p.metadata?.deletionTimestamp),
      16,
      async (p) => {
        this.created.delete(`${p.metadata!.namespace}/${p.metadata!.name}`);
        this.deleted.set(`${p.metadata!.namespace}/${p.metadata!.name}`, Date.now());
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

  /** Creates the InferenceRole, or propagates a changed spec.roles.<role>.replicas once; returns the live count. */
  private async ensureRole(dep: IInferenceDeployment, s: RoleShape, st: InfdStatusBuilder, signal: AbortSignal): Promise<number> {
    const { namespace, name } = depMeta(dep);
    const rn = infdNames(name).role(s.role);
    const ir = this.d.roles.get(rn, namespace) as IInferenceRole | undefined;
    if (!ir) {
      await this.writer(dep).create(inferenceRole(dep, s.role, s.specReplicas), signal); // someone else's of the name: NameConflict
      return s.specReplicas;
    }
    this.writer(dep).check({ ...ir, kind: INFROLE_KIND });
    if (ir.metadata?.annotations?.[InfdAnnotations.propagatedReplicas] === String(s.specReplicas)) return ir.spec.replicas;
    // The deployment's value changed since it was last copied (GitOps edit): it wins over the autoscaler's.
    await this.d.client.mergePatch(pathOf({ apiVersion: API_VERSION, kind: INFROLE_KIND, metadata: { name: rn, namespace } }), {
      metadata: { annotations: { [InfdAnnotations.propagatedReplicas]: String(s.specReplicas) } },
      spec: { replicas: s.specReplicas },
    }, signal);
    if (ir.spec.replicas !== s.specReplicas) st.event('Normal', InfdReason.ReplicasPropagated, `${s.role}: spec.roles.${s.role}.replicas ${s.specReplicas} copied to InferenceRole ${rn} (was ${ir.spec.replicas})`);
    return s.specReplicas;
  }

  private async writeRoleStatus(dep: IInferenceDeployment, m: Memory, role: RoleName, status: NonNullable<IInferenceRole['status']>, signal: AbortSignal): Promise<void> {
    const { namespace, name } = depMeta(dep);
    const rn = infdNames(name).role(role);
    const ir = this.d.roles.get(rn, namespace) as IInferenceRole | undefined;
    if (!ir) return;
    const full = { ...status, observedGeneration: ir.metadata?.generation ?? 0 };
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

  /** Router pods: create missing, replace failed ones, roll an old revision one pod at a time; returns ready count. */
  private async reconcileRouters(dep: IInferenceDeployment, pods: readonly V1Pod[], ctx: ServeContext, st: InfdStatusBuilder, signal: AbortSignal): Promise<number> {
    const want = dep.spec.router?.replicas ?? 1;
    const rev = routerRevision(dep, ctx);
    const routers = pods.filter((p) => p.metadata?.labels?.[InfdLabels.role] === 'router');
    const byIndex = new Map(routers.map((p) => [Number(p.metadata?.labels?.[InfdLabels.podIndex]), p]));
    const doomed: V1Pod[] = [];
    for (const [i, p] of byIndex) if (i >= want) doomed.push(p);
    for (const p of routers) if (i(p) < want && (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) doomed.push(p);
    // One old-revision router at a time, and only while every other router is ready.
    const others = (p: V1Pod) => routers.filter((x) => x !== p && i(x) < want);
    const old = routers.find((p) => i(p) < want && !p.metadata?.deletionTimestamp && p.metadata?.labels?.[InfdLabels.revision] !== rev && others(p).every(isPodReady) && others(p).length === want - 1);
    if (old && !doomed.includes(old)) {
      doomed.push(old);
      st.event('Normal', InfdReason.RouterUpdated, `router pod ${old.metadata?.name} replaced for revision ${rev}`);
    }
    await this.deletePods(doomed, signal);
    // A deleted router is recreated by a later reconcile, once it is gone from the cache.
    for (let k = 0; k < want; k++) {
      if (byIndex.has(k)) continue;
      await this.writer(dep).createPod(routerPod(dep, k, ctx, rev), signal); // someone else's pod of the name: NameConflict
    }
    return routers.filter((p) => i(p) < want && !doomed.includes(p) && !p.metadata?.deletionTimestamp && isPodReady(p)).length;
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

  private async writeStatus(dep: IInferenceDeployment, m: Memory, st: InfdStatusBuilder, signal: AbortSignal): Promise<void> {
    if (stableStringify(st.status) === stableStringify(dep.status ?? {})) return;
    delete m.written;
    await this.d.client.apply(
      { apiVersion: API_VERSION, kind: INFD_KIND, metadata: { name: dep.metadata!.name!, namespace: dep.metadata!.namespace! }, status: st.status } as IInferenceDeployment & { metadata: { name: string; namespace: string } },
      { subresource: 'status', signal },
    );
    m.written = structuredClone(st.status);
  }
}

const i = (p: V1Pod) => Number(p.metadata?.labels?.[InfdLabels.podIndex]);

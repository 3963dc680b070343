// Pure: what one reconcile of an InferenceDeployment must do, from the deployment and what the caches show, as
// mtj/desired.ts and mtj/status.ts are for the MoETrainingJob: the InferenceRoles to create or update, the gangs to
// release, restart, delete and start (placed with the planner's gang placement), the router pods, the routes, and the
// status of the deployment and of its InferenceRoles. No I/O and no clock: reconciler.ts reads the caches into
// `InfdObserved`, applies the decision in order, and writes status once.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { InfdAnnotations, InfdLabels, InfdReason, ROLES, infdNames, type RoleName } from '../../api/constants.js';
import type { IClusterTopology, IInferenceDeployment, IInferenceRole, IMoETrainingJob } from '../../api/types.gen.js';
import type { PodLoadReport } from '../../contract/index.js';
import type { ReconcileResult } from '../../kube/controller.js';
import type { PendingEvent } from '../../kube/events.js';
import { placeGang } from '../../plan/placement/gang.js';
import type { ModelConfig, TopologySpec } from '../../plan/types.js';
import { gpusInUse, toNodeLike } from '../mtj/plan-input.js';
import { depMeta, inferenceRole, roleRevision, rolePod, roleSelector, routerPod, routerRevision, routerUrl, routesDocument, servePort, type Route, type ServeContext } from './desired.js';
import { gangReleasedMessage, isPodReady, observeGangs, type Gang } from './gangs.js';
import { resolveArchitecture, resolveModelSource } from './model-source.js';
import { describeRestart, holdOf, observeReadiness, recordFailure, restartPolicy, type ReplicaRestarts } from './restarts.js';
import { decideRollout, type RoleDecision, type RoleRolloutInput } from './rollout.js';
import { roleShape, rolloutBounds, type RoleShape } from './spec.js';
import { InfdStatusBuilder, speculativeStatus, type RoleObservation } from './status.js';
import { validateDeployment } from './validate.js';

/** What the reconciler remembers of replica failures from one reconcile to the next (restarts.ts). */
export interface RestartMemory {
  /** role/replica → failures in a row and restart backoff; cleared by a new generation. */
  restarts: ReadonlyMap<string, ReplicaRestarts>;
  /** role/replica of gangs restarted after a failure and not ready again yet. */
  restarting: ReadonlySet<string>;
  /** The deployment generation the records belong to. */
  generation?: number;
}

/** What the caches show (and the reconciler remembers) at one reconcile. */
export interface InfdObserved {
  now: Date;
  /** The MoETrainingJob of spec.model.trainingJob, when named and cached. */
  job?: IMoETrainingJob | undefined;
  /** The ClusterTopology of spec.topologyRef (default `default`), when cached. */
  topology?: IClusterTopology | undefined;
  /** The deployment's InferenceRoles that the cache shows. */
  roles: Partial<Record<RoleName, IInferenceRole>>;
  /** Pods the deployment owns (terminating ones included). */
  pods: readonly V1Pod[];
  nodes: readonly V1Node[];
  /** Every pod the operator manages, training and serving: their GPUs are not offered to a new gang. */
  managedPods: readonly V1Pod[];
  /** GPUs of pods this process created that the cache does not show yet (any deployment). */
  inFlight: ReadonlyArray<{ node: string; gpus: number }>;
  /** Names of the deployment's pods this process created and the cache has not shown yet (kube/expectations.ts). */
  creating: ReadonlySet<string>;
  /** Names of the deployment's pods this process deleted: a gang going away, not a broken one. */
  deleting: ReadonlySet<string>;
  /** Load reports of the deployment's live leader pods (ConfigMap <deployment>-expert-load). */
  loadReports?: readonly PodLoadReport[];
  /** Refused writes back off for this long (ms; 0: go ahead). */
  backoffMs: number;
  memory: RestartMemory;
}

/** An InferenceRole to create, or one that exists: its owner is checked, and a changed spec replica count copied. */
export type RoleWrite =
  | { role: RoleName; create: ReturnType<typeof inferenceRole> }
  | { role: RoleName; existing: IInferenceRole; propagate?: { replicas: number; event?: PendingEvent } };

/** A gang as found: released when complete and still gated, or restarted as a unit when broken. */
export type GangAction =
  | { release: V1Pod[] }
  | { restart: V1Pod[]; key: string; record: ReplicaRestarts; failed: { role: RoleName; replica: number; why: string; next: string; exhausted: boolean } };

/** A rollout or scaling step: a gang deleted, or a placed gang created behind the gate and released. */
export type PodAction =
  | { delete: V1Pod[]; event: PendingEvent }
  | { start: V1Pod[]; role: RoleName; replica: number; events: PendingEvent[] };

/** The observations that Available, Progressing, Degraded and the phase are computed from (finishStatus). */
export interface InfdSummary {
  roles: Record<RoleName, RoleObservation>;
  router: { desired: number; ready: number; url: string };
}

export type InfdDecision =
  /** Nothing to write (an invalid spec, a model not ready yet, refused writes backing off): status only. */
  | { status: InfdStatusBuilder; hold: true; result: ReconcileResult | undefined }
  | {
      status: InfdStatusBuilder;
      hold: false;
      ctx: ServeContext;
      model: ModelConfig | undefined;
      shapes: Record<RoleName, RoleShape>;
      roleWrites: RoleWrite[];
      gangs: GangAction[];
      rollout: PodAction[];
      routers: { events: PendingEvent[]; delete: V1Pod[]; create: V1Pod[] };
      routes: ReturnType<typeof routesDocument>;
      memory: RestartMemory;
      summary: InfdSummary;
      /** Status of the InferenceRoles the cache shows, stamped with their generation. */
      roleStatuses: Partial<Record<RoleName, NonNullable<IInferenceRole['status']>>>;
      /** When to look again (expert rebalancing adds its own interval). */
      requeueAfterMs: number | undefined;
    };

const key = (r: RoleName, replica: number) => `${r}/${replica}`;
const podIndex = (p: V1Pod) => Number(p.metadata?.labels?.[InfdLabels.podIndex]);

export function decide(dep: IInferenceDeployment, o: InfdObserved): InfdDecision {
  const st = new InfdStatusBuilder(dep, o.now);
  const nowMs = o.now.getTime();
  const hold = (result?: ReconcileResult): InfdDecision => ({ status: st, hold: true, result });

  // 1. The architecture, and the checks the schema cannot do; running pods keep serving the last valid spec.
  const arch = resolveArchitecture(dep, o.job);
  const errs = [...arch.errors, ...validateDeployment(dep, arch.model)];
  if (errs.length) {
    st.invalid(errs);
    return hold();
  }
  st.valid();

  // 2. The model: wait for the training job to succeed before starting anything.
  const src = resolveModelSource(dep, o.job);
  if (!src.ready) {
    st.modelWaiting(src.reason, src.message);
    st.waitingForModel();
    return hold();
  }
  st.modelReady(src.uri, src.resolvedFrom, src.message);

  // 3. Topology (GPU resource names); refused writes back off with nothing written and the status as last written.
  const topo = o.topology;
  const topoName = dep.spec.topologyRef?.name ?? 'default';
  if (!topo) st.blockedBy(InfdReason.TopologyNotFound, `ClusterTopology ${topoName} not found (spec.topologyRef.name); create it or install the chart's default`);
  const ctx: ServeContext = {
    modelUri: src.uri,
    gpuResource: topo?.spec.gpuResource ?? 'nvidia.com/gpu',
    rdmaResource: topo?.spec.rdmaResource ?? 'rdma/ib',
    ...(topo?.spec.nodeSelector ? { fleetSelector: topo.spec.nodeSelector } : {}),
  };
  if (o.backoffMs > 0) return hold({ requeueAfterMs: o.backoffMs });

  // 4. Desired replicas per role from the InferenceRoles (created here; a changed spec count propagated once).
  const shapes = Object.fromEntries(ROLES.map((r) => [r, roleShape(dep, r)])) as Record<RoleName, RoleShape>;
  const roleWrites = ROLES.map((r) => roleWrite(dep, shapes[r], o.roles[r]));
  const desired = Object.fromEntries(ROLES.map((r, i) => [r, desiredReplicas(shapes[r], roleWrites[i]!)])) as Record<RoleName, number>;

  // 5. Gangs per role; failed or broken gangs are restarted as a unit, under a restart budget with backoff.
  const revisions = Object.fromEntries(ROLES.map((r) => [r, roleRevision(dep, shapes[r], ctx)])) as Record<RoleName, string>;
  const generation = dep.metadata?.generation ?? 0;
  // A changed spec gets a fresh budget.
  const restarts = new Map(o.memory.generation === dep.metadata?.generation ? o.memory.restarts : []);
  const restarting = new Set(o.memory.restarting);
  const policy = restartPolicy(dep);
  const nodeNames = new Set(o.nodes.map((n) => n.metadata?.name));
  const { name } = depMeta(dep);
  const gangs = {} as Record<RoleName, Gang[]>;
  const gangActions: GangAction[] = [];
  const restartedNow = new Set<string>();
  for (const r of ROLES) {
    gangs[r] = observeGangs(o.pods, r, shapes[r].pods);
    for (const g of gangs[r]) {
      // Only deletions this process made mean "going away"; a pod deleted by someone else breaks the replica.
      const podNames = Array.from({ length: shapes[r].pods }, (_, i) => infdNames(name).pod(r, g.replica, i));
      g.terminating = podNames.some((pn) => o.deleting.has(pn));
      const broken = brokenReason(g, podNames, nodeNames, o.creating);
      if (!broken) {
        if (g.gated && g.pods.length === shapes[r].pods && !g.terminating) gangActions.push({ release: g.pods }); // created before an operator restart
        continue;
      }
      const k = key(r, g.replica);
      const rec = recordFailure(restarts.get(k), policy, nowMs);
      restarts.set(k, rec.next);
      restarting.add(k);
      restartedNow.add(k);
      gangActions.push({ restart: g.pods, key: k, record: rec.next, failed: { role: r, replica: g.replica, why: broken, next: describeRestart({ ...rec, failures: rec.next.failures }, policy), exhausted: rec.exhausted } });
    }
  }

  // Replicas held down after failures (backoff, or out of budget) keep their index: no stand-in is started.
  const held = {} as Record<RoleName, number[]>;
  const holdWaits: number[] = [];
  for (const r of ROLES) {
    held[r] = [];
    for (const [k, rec] of [...restarts]) {
      const [role, rep] = k.split('/') as [RoleName, string];
      if (role !== r) continue;
      const g = gangs[r].find((x) => x.replica === Number(rep));
      if (g && !restartedNow.has(k) && !g.terminating) {
        // A live gang: track its readiness; a long enough ready spell forgets the failures.
        const next = observeReadiness(rec, g.ready, nowMs);
        if (next) restarts.set(k, next);
        else restarts.delete(k);
        continue;
      }
      if (Number(rep) >= desired[r]) {
        restarts.delete(k); // scaled away
        continue;
      }
      const h = holdOf(rec, policy, nowMs);
      if (!h) continue;
      held[r].push(Number(rep));
      st.restartHeld(r, Number(rep), h);
      if (h.reason === 'RestartBackoff') holdWaits.push(h.waitMs);
    }
  }

  // 6. Scale and roll out: the pure decision, then deletes and gang starts placed on the GPUs still free.
  const inputs: RoleRolloutInput[] = ROLES.map((r) => ({
    role: r,
    desired: desired[r],
    revision: revisions[r],
    ...rolloutBounds(dep, desired[r]),
    gangs: [
      ...gangs[r].map((g) => ({ replica: g.replica, revision: g.revision, ready: g.ready, terminating: g.terminating || restartedNow.has(key(r, g.replica)) })),
      // A held replica counts as one still draining: its index stays reserved and nothing stands in for it.
      ...held[r].filter((rep) => !gangs[r].some((g) => g.replica === rep)).map((rep) => ({ replica: rep, revision: revisions[r], ready: false, terminating: true })),
    ],
    preferred: [...new Set([...[...o.memory.restarting, ...restartedNow].filter((k) => k.startsWith(`${r}/`)).map((k) => Number(k.split('/')[1])), ...held[r]])],
  }));
  const decisions = decideRollout(inputs) as Record<RoleName, RoleDecision>;
  const rollout: PodAction[] = [];
  let used: Map<string, number> | undefined;
  for (const r of ROLES) {
    const dec = decisions[r];
    for (const replica of dec.delete) {
      const g = gangs[r].find((x) => x.replica === replica)!;
      const event: PendingEvent = dec.rolling && g.revision !== revisions[r]
        ? { type: 'Normal', reason: InfdReason.RolloutStep, message: `${r}: deleted replica ${replica} at old revision ${g.revision || '?'} (${dec.updated}/${desired[r]} updated, ${dec.ready} ready)` }
        : { type: 'Normal', reason: InfdReason.ScaledDown, message: `${r}: deleted replica ${replica} (desired ${desired[r]})` };
      rollout.push({ delete: g.pods, event });
    }
    for (const replica of dec.create) {
      if (!topo) break;
      used ??= gpusFree(o, ctx.gpuResource);
      const start = placeReplica(dep, o, shapes[r], replica, ctx, revisions[r], topo, used, st);
      if (!start) break;
      // A restart was reported as one already.
      if (!o.memory.restarting.has(key(r, replica)) && !restartedNow.has(key(r, replica))) {
        start.events.push(dec.rolling
          ? { type: 'Normal', reason: InfdReason.RolloutStep, message: `${r}: started replica ${replica} at revision ${revisions[r]} (${dec.updated + 1}/${desired[r]} updated)` }
          : { type: 'Normal', reason: InfdReason.ScaledUp, message: `${r}: started replica ${replica} (desired ${desired[r]})` });
      }
      rollout.push(start);
    }
  }

  // 7. Routers (not gated, no GPUs).
  const routers = decideRouters(dep, o.pods, ctx);

  // 8. Routing: leader URLs of every replica whose pods are all running and ready.
  const routes = {} as Record<RoleName, Route[]>;
  for (const r of ROLES) {
    routes[r] = gangs[r]
      .filter((g) => g.ready && !restartedNow.has(key(r, g.replica)) && !decisions[r].delete.includes(g.replica) && g.pods[0]?.status?.podIP)
      .map((g) => ({ replica: g.replica, url: `http://${g.pods[0]!.status!.podIP}:${servePort(dep)}` }));
  }

  // 9. Degraded: replicas restarted after a failure stay on the list until ready again.
  for (const k of [...restarting]) {
    if (restartedNow.has(k)) continue;
    const [r, rep] = k.split('/') as [RoleName, string];
    const g = gangs[r].find((x) => x.replica === Number(rep));
    const liveCount = gangs[r].filter((x) => !x.terminating && !restartedNow.has(key(r, x.replica))).length + decisions[r].create.length;
    // Done when ready again, or when it is gone and not coming back (scaled down meanwhile).
    if (g?.ready || (!g && !decisions[r].create.includes(Number(rep)) && liveCount >= desired[r])) restarting.delete(k);
    else if (!held[r].includes(Number(rep))) st.recovering(r, Number(rep)); // held ones are reported with their hold
  }

  // 10. Status of the roles, the router and the InferenceRoles.
  let inFlight = false;
  const summaryRoles = {} as Record<RoleName, RoleObservation>;
  const roleStatuses: Partial<Record<RoleName, NonNullable<IInferenceRole['status']>>> = {};
  for (const r of ROLES) {
    const dec = decisions[r];
    const live = gangs[r].filter((g) => !g.terminating && !restartedNow.has(key(r, g.replica)) && !dec.delete.includes(g.replica));
    const current = live.length + dec.create.length;
    const ready = live.filter((g) => g.ready).length;
    const updated = live.filter((g) => g.revision === revisions[r]).length + dec.create.length;
    const settling = current !== desired[r] || ready !== desired[r] || gangs[r].some((g) => g.terminating);
    inFlight ||= settling || dec.rolling;
    summaryRoles[r] = { desired: desired[r], current, ready, updated, revision: revisions[r], endpoints: routes[r].map((x) => x.url), rolling: dec.rolling || updated < desired[r], settling, ...(dec.waiting ? { waiting: dec.waiting } : {}) };
    const spec = speculativeStatus(o.loadReports ?? [], r);
    if (spec) summaryRoles[r].speculative = spec;
    const ir = o.roles[r];
    if (ir) roleStatuses[r] = { replicas: current, readyReplicas: ready, updatedReplicas: updated, selector: roleSelector(dep, r), observedGeneration: ir.metadata?.generation ?? 0 };
  }
  const routerWant = dep.spec.router?.replicas ?? 1;
  inFlight ||= routers.ready !== routerWant;
  const waits = [inFlight ? 2000 : undefined, topo ? undefined : 30_000, holdWaits.length ? Math.min(...holdWaits) : undefined].filter((x): x is number => x !== undefined);

  return {
    status: st,
    hold: false,
    ctx,
    model: arch.model,
    shapes,
    roleWrites,
    gangs: gangActions,
    rollout,
    routers: { events: routers.events, delete: routers.delete, create: routers.create },
    routes: routesDocument(dep, routes),
    memory: { restarts, restarting, generation },
    summary: { roles: summaryRoles, router: { desired: routerWant, ready: routers.ready, url: routerUrl(dep) } },
    roleStatuses,
    requeueAfterMs: waits.length ? Math.min(...waits) : undefined,
  };
}

/** Available, Progressing, Degraded and the phase, once the decision's writes went through. */
export function finishStatus(st: InfdStatusBuilder, s: InfdSummary): void {
  for (const r of ROLES) st.role(r, s.roles[r]);
  st.router(s.router.desired, s.router.ready, s.router.url);
  st.finish();
}

/** The InferenceRole of a role: created when missing; the deployment's replica count copied when it changed since
 *  it was last copied (a GitOps edit wins over the autoscaler's value once). */
function roleWrite(dep: IInferenceDeployment, s: RoleShape, ir: IInferenceRole | undefined): RoleWrite {
  if (!ir) return { role: s.role, create: inferenceRole(dep, s.role, s.specReplicas) };
  if (ir.metadata?.annotations?.[InfdAnnotations.propagatedReplicas] === String(s.specReplicas)) return { role: s.role, existing: ir };
  const rn = infdNames(depMeta(dep).name).role(s.role);
  const event: PendingEvent | undefined = ir.spec.replicas !== s.specReplicas
    ? { type: 'Normal', reason: InfdReason.ReplicasPropagated, message: `${s.role}: spec.roles.${s.role}.replicas ${s.specReplicas} copied to InferenceRole ${rn} (was ${ir.spec.replicas})` }
    : undefined;
  return { role: s.role, existing: ir, propagate: { replicas: s.specReplicas, ...(event ? { event } : {}) } };
}

/** The live replica count: the InferenceRole's, unless it is being created or overwritten with the spec's. */
function desiredReplicas(s: RoleShape, w: RoleWrite): number {
  return 'existing' in w && !w.propagate ? w.existing.spec.replicas : s.specReplicas;
}

/** Why a gang must restart as a unit, or undefined when it is fine (or still starting). */
function brokenReason(g: Gang, podNames: readonly string[], nodes: ReadonlySet<string | undefined>, creating: ReadonlySet<string>): string | undefined {
  if (g.terminating) return undefined;
  if (g.deleting.length) return `pod ${g.deleting[0]} was deleted`;
  if (g.failed) return `pod ${g.failed.pod} ${g.failed.reason}${g.failed.node ? ` on ${g.failed.node}` : ''}`;
  for (const p of g.pods) {
    const node = p.spec?.nodeName;
    if (node && !nodes.has(node)) return `node ${node} of pod ${p.metadata?.name} no longer exists`;
  }
  if (g.pods.length === podNames.length) return undefined;
  const have = new Set(g.pods.map((p) => p.metadata?.name));
  // A pod this process just created may not be in its cache yet; one it has seen, or an old one, was deleted.
  const gone = podNames.find((pn) => !have.has(pn) && !creating.has(pn));
  return gone ? `pod ${gone} was deleted` : undefined;
}

/** GPUs held per node by every pod the operator manages, plus pods it created that its cache does not show yet. */
function gpusFree(o: InfdObserved, gpuResource: string): Map<string, number> {
  const used = gpusInUse(o.managedPods, gpuResource, '', '');
  for (const c of o.inFlight) used.set(c.node, (used.get(c.node) ?? 0) + c.gpus);
  return used;
}

/** One replica placed with the shared planner (its GPUs then count as used), or undefined when it does not fit. */
function placeReplica(dep: IInferenceDeployment, o: InfdObserved, s: RoleShape, replica: number, ctx: ServeContext, revision: string, topo: IClusterTopology,
  used: Map<string, number>, st: InfdStatusBuilder): Extract<PodAction, { start: V1Pod[] }> | undefined {
  const tpl = (dep.spec.template as { spec?: { tolerations?: Array<{ key?: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: string }> } } | undefined)?.spec;
  const res = placeGang({
    nodes: toNodeLike(o.nodes, used, ctx.gpuResource),
    topology: topo.spec as TopologySpec,
    pods: s.pods,
    gpusPerPod: s.gpusPerPod,
    tolerations: [...(tpl?.tolerations ?? []), { key: ctx.gpuResource, operator: 'Exists' }],
  });
  if (!res.ok) {
    st.blockedBy(InfdReason.InsufficientCapacity, `${s.role} replica ${replica}: ${res.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    return undefined;
  }
  const place = res.placement;
  const pods = place.nodeSelectors.map((sel, i) => rolePod(dep, s, replica, i, ctx, revision, sel));
  for (const p of pods) {
    const node = p.spec!.nodeSelector!['kubernetes.io/hostname']!;
    used.set(node, (used.get(node) ?? 0) + s.gpusPerPod);
  }
  return { start: pods, role: s.role, replica, events: [{ type: 'Normal', reason: InfdReason.GangReleased, message: gangReleasedMessage(s.role, replica, place.nodes, place.leaves) }] };
}

/** Router pods: create missing, replace failed ones, roll an old revision one pod at a time; the ready count. */
export function decideRouters(dep: IInferenceDeployment, pods: readonly V1Pod[], ctx: ServeContext): { events: PendingEvent[]; delete: V1Pod[]; create: V1Pod[]; ready: number } {
  const want = dep.spec.router?.replicas ?? 1;
  const rev = routerRevision(dep, ctx);
  const routers = pods.filter((p) => p.metadata?.labels?.[InfdLabels.role] === 'router');
  const byIndex = new Map(routers.map((p) => [podIndex(p), p]));
  const doomed: V1Pod[] = [];
  const events: PendingEvent[] = [];
  for (const [i, p] of byIndex) if (i >= want) doomed.push(p);
  for (const p of routers) if (podIndex(p) < want && (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) doomed.push(p);
  // One old-revision router at a time, and only while every other router is ready.
  const others = (p: V1Pod) => routers.filter((x) => x !== p && podIndex(x) < want);
  const old = routers.find((p) => podIndex(p) < want && !p.metadata?.deletionTimestamp && p.metadata?.labels?.[InfdLabels.revision] !== rev && others(p).every(isPodReady) && others(p).length === want - 1);
  if (old && !doomed.includes(old)) {
    doomed.push(old);
    events.push({ type: 'Normal', reason: InfdReason.RouterUpdated, message: `router pod ${old.metadata?.name} replaced for revision ${rev}` });
  }
  // A deleted router is recreated by a later reconcile, once it is gone from the cache.
  const create: V1Pod[] = [];
  for (let k = 0; k < want; k++) if (!byIndex.has(k)) create.push(routerPod(dep, k, ctx, rev));
  const ready = routers.filter((p) => podIndex(p) < want && !doomed.includes(p) && !p.metadata?.deletionTimestamp && isPodReady(p)).length;
  return { events, delete: doomed, create, ready };
}

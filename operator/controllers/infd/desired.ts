// Pure builders of an InferenceDeployment's children: Services, the routing / placement / load ConfigMaps, the
// least-privilege RBAC of routers and role leaders, the InferenceRoles, and the serving pods with the contract env of
// runtime/src/serve/README.md.
import { createHash } from 'node:crypto';
import type { V1Container, V1EnvVar, V1Pod, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, INFD_KIND, INFROLE_KIND, InfdAnnotations, InfdLabels, QUEUE_LABEL_PREFIXES, SCHEDULING_GATE, infdNames, type RoleName, RUNTIME_IMAGE } from '../../api/constants.js';
import type { IInferenceDeployment } from '../../api/types.gen.js';
import { servedModelName, uriPath, type RoleShape } from './spec.js';
import { masterPort } from '../master-port.js';
import { RankEnv, RoutingConfigMap, ServeEnv, formatRoutes, type RouteEntry, type RouteTable } from '../../contract/index.js';
import { withRestrictedDefaults } from '../pod-security.js';

type Meta = { name: string; namespace: string; uid: string };

export function depMeta(d: IInferenceDeployment): Meta {
  const m = d.metadata ?? {};
  if (!m.name || !m.namespace || !m.uid) throw new Error('desired: deployment needs metadata.name, namespace and uid');
  return { name: m.name, namespace: m.namespace, uid: m.uid };
}

export function ownerRef(d: IInferenceDeployment) {
  const { name, uid } = depMeta(d);
  return { apiVersion: API_VERSION, kind: INFD_KIND, name, uid, controller: true, blockOwnerDeletion: true };
}

/** Labels of every child: the deployment, managed-by, and the deployment's queue labels (Kueue/Volcano). */
export function childLabels(d: IInferenceDeployment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata?.labels ?? {})) if (QUEUE_LABEL_PREFIXES.some((p) => k.startsWith(p))) out[k] = v;
  out[InfdLabels.deployment] = depMeta(d).name;
  out[InfdLabels.managedBy] = FIELD_MANAGER;
  return out;
}

function meta(d: IInferenceDeployment, name: string, extra: Record<string, string> = {}) {
  return { name, namespace: depMeta(d).namespace, labels: { ...childLabels(d), ...extra }, ownerReferences: [ownerRef(d)] };
}

/** What the pods need besides the spec. */
export interface ServeContext {
  modelUri: string;
  gpuResource: string;
  rdmaResource: string;
  /** The ClusterTopology's nodeSelector: routers (not placed by the planner) stay inside the same fleet. */
  fleetSelector?: Record<string, string>;
}

export function servePort(d: IInferenceDeployment): number {
  return d.spec.router?.port ?? 8000;
}

/** Headless Service `<d>-pods`: stable per-pod DNS (rendezvous inside a replica, leader URLs). */
export function headlessService(d: IInferenceDeployment) {
  const n = infdNames(depMeta(d).name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(d, n.headless),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: { [InfdLabels.deployment]: depMeta(d).name },
      ports: [
        { name: 'rendezvous', port: masterPort(d.spec.template), targetPort: masterPort(d.spec.template), protocol: 'TCP' },
        { name: 'http', port: servePort(d), targetPort: servePort(d), protocol: 'TCP' },
      ],
    },
  };
}

/** Service `<d>`: the public API, selecting the routers. */
export function routerService(d: IInferenceDeployment) {
  const n = infdNames(depMeta(d).name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(d, n.service),
    spec: {
      selector: { [InfdLabels.deployment]: depMeta(d).name, [InfdLabels.role]: 'router' },
      ports: [{ name: 'http', port: servePort(d), targetPort: servePort(d), protocol: 'TCP' }],
    },
  };
}

export function routerUrl(d: IInferenceDeployment): string {
  const { name, namespace } = depMeta(d);
  return `http://${name}.${namespace}.svc:${servePort(d)}`;
}

/** A ready replica's entry of the routes document. */
export type Route = RouteEntry;

/** The `routes` document of <d>-routing (contract/routes.ts): leader URLs of ready replicas, sorted by replica. */
export function routesDocument(d: IInferenceDeployment, routes: Record<RoleName, Route[]>): RouteTable {
  const sort = (r: Route[]) => [...r].sort((a, b) => a.replica - b.replica);
  return { model: servedModelName(d), prefill: sort(routes.prefill), decode: sort(routes.decode) };
}

export function routingConfigMap(d: IInferenceDeployment, routes: RouteTable) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(d, infdNames(depMeta(d).name).routingConfigMap, { [InfdLabels.component]: 'routing' }), data: { [RoutingConfigMap.key]: formatRoutes(routes) } };
}

/** <d>-placement: the operator owns its data (keys prefill, decode, and its private EPLB state). */
export function placementConfigMap(d: IInferenceDeployment, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(d, infdNames(depMeta(d).name).placementConfigMap, { [InfdLabels.component]: 'placement' }), data };
}

/** <d>-expert-load: the operator owns its metadata only; role leaders merge-patch their own key. */
export function loadConfigMap(d: IInferenceDeployment) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(d, infdNames(depMeta(d).name).loadConfigMap, { [InfdLabels.component]: 'expert-load' }) };
}

/** Router: get <d>-routing. Role leaders: get <d>-placement, get/patch <d>-expert-load. Nothing else. */
export function serveRbac(d: IInferenceDeployment) {
  const n = infdNames(depMeta(d).name);
  const { namespace } = depMeta(d);
  const rbac = (sa: string, rules: unknown[]) => [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(d, sa), automountServiceAccountToken: false },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(d, sa), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(d, sa),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
    },
  ];
  return [
    ...rbac(n.routerServiceAccount, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [n.routingConfigMap], verbs: ['get'] }]),
    ...rbac(n.leaderServiceAccount, [
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [n.placementConfigMap], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [n.loadConfigMap], verbs: ['get', 'patch'] },
    ]),
  ];
}

export function roleSelector(d: IInferenceDeployment, role: RoleName): string {
  return `${InfdLabels.deployment}=${depMeta(d).name},${InfdLabels.role}=${role}`;
}

/** A new InferenceRole (created once; afterwards its spec.replicas belongs to kubectl scale / HPA). */
export function inferenceRole(d: IInferenceDeployment, role: RoleName, replicas: number) {
  const m = meta(d, infdNames(depMeta(d).name).role(role), { [InfdLabels.role]: role });
  return {
    apiVersion: API_VERSION,
    kind: INFROLE_KIND,
    metadata: { ...m, annotations: { [InfdAnnotations.propagatedReplicas]: String(replicas) } },
    spec: { replicas },
  };
}

const DEFAULT_CONTAINER: V1Container = { name: 'server', image: RUNTIME_IMAGE, command: ['moe-runtime'] };

const field = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const vals = (o: Record<string, string | number>): V1EnvVar[] => Object.entries(o).map(([name, v]) => ({ name, value: String(v) }));

/** Identity env shared by every serving pod. */
function commonEnv(d: IInferenceDeployment, role: string, ctx: ServeContext): V1EnvVar[] {
  const { name, namespace } = depMeta(d);
  return [
    ...vals({ [ServeEnv.role]: role, [ServeEnv.deployment]: name, [RankEnv.namespace]: namespace }),
    field(ServeEnv.podName, 'metadata.name'),
    field(RankEnv.podIp, 'status.podIP'),
    ...vals({ [ServeEnv.modelPath]: uriPath(ctx.modelUri), [ServeEnv.servedModelName]: servedModelName(d), [ServeEnv.port]: servePort(d) }),
  ];
}

/** The contract env of pod `index` of replica `replica` of a role. */
export function roleEnv(d: IInferenceDeployment, s: RoleShape, replica: number, index: number, ctx: ServeContext): V1EnvVar[] {
  const { name, namespace } = depMeta(d);
  const n = infdNames(name);
  const env = [
    ...commonEnv(d, s.role, ctx),
    ...vals({
      [ServeEnv.replica]: replica,
      [ServeEnv.podIndex]: index,
      [ServeEnv.podsPerReplica]: s.pods,
      [RankEnv.masterAddr]: `${n.pod(s.role, replica, 0)}.${n.headless}.${namespace}.svc`,
      [RankEnv.masterPort]: masterPort(d.spec.template),
      [RankEnv.worldSize]: s.pods * s.gpusPerPod,
      [RankEnv.rank]: index * s.gpusPerPod,
      [RankEnv.nodeRank]: index,
      [RankEnv.nnodes]: s.pods,
      [RankEnv.localRank]: 0,
      [RankEnv.localWorldSize]: s.gpusPerPod,
      [ServeEnv.epSize]: s.ep,
      [ServeEnv.maxBatch]: s.maxBatch,
      [ServeEnv.maxQueue]: s.maxQueue,
    }),
  ];
  if (s.speculative) env.push(...vals({ [ServeEnv.speculativeMethod]: s.speculative.method, [ServeEnv.speculativeTokens]: s.speculative.tokens }));
  // Only the leader holds a token (see serveRbac), so only it is told where the ConfigMaps are.
  if (index === 0) env.push(...vals({ [ServeEnv.placementConfigMap]: n.placementConfigMap, [ServeEnv.loadConfigMap]: n.loadConfigMap }));
  return env;
}

export function routerEnv(d: IInferenceDeployment, ctx: ServeContext): V1EnvVar[] {
  return [...commonEnv(d, 'router', ctx), ...vals({ [ServeEnv.routingConfigMap]: infdNames(depMeta(d).name).routingConfigMap })];
}

/** The template's first container with the contract env, the port, `serve` args and a readiness probe. */
function mainContainers(d: IInferenceDeployment, env: V1EnvVar[]): V1Container[] {
  const tplSpec: Partial<V1PodSpec> = ((d.spec.template ?? {}) as V1PodTemplateSpec).spec ?? {};
  const containers = (tplSpec.containers?.length ? tplSpec.containers : [DEFAULT_CONTAINER]).map((c) => structuredClone(c));
  const main = containers[0]!;
  const names = new Set(env.map((e) => e.name));
  main.env = [...(main.env ?? []).filter((e) => !names.has(e.name)), ...env];
  if (!main.args?.length && !(main.command ?? []).includes('serve')) main.args = ['serve'];
  const port = servePort(d);
  main.ports = [...(main.ports ?? []).filter((p) => p.name !== 'http' && p.containerPort !== port), { name: 'http', containerPort: port, protocol: 'TCP' }];
  main.readinessProbe ??= { httpGet: { path: '/readyz', port }, periodSeconds: 5 };
  return containers;
}

function basePodSpec(d: IInferenceDeployment, podName: string): V1PodSpec {
  const tplSpec: Partial<V1PodSpec> = ((d.spec.template ?? {}) as V1PodTemplateSpec).spec ?? {};
  const spec: V1PodSpec = { ...structuredClone(tplSpec), containers: [], hostname: podName, subdomain: infdNames(depMeta(d).name).headless };
  if (d.spec.schedulerName) spec.schedulerName = d.spec.schedulerName;
  return spec;
}

function tplMeta(d: IInferenceDeployment) {
  return ((d.spec.template ?? {}) as V1PodTemplateSpec).metadata ?? {};
}

/**
 * Pod `index` of replica `replica` of a role, created behind the gang gate. `nodeSelector` is the planner's
 * placement (absent when building the pod only to hash its revision).
 */
export function rolePod(d: IInferenceDeployment, s: RoleShape, replica: number, index: number, ctx: ServeContext, revision: string, nodeSelector?: Record<string, string>): V1Pod {
  const n = infdNames(depMeta(d).name);
  const podName = n.pod(s.role, replica, index);
  const spec = basePodSpec(d, podName);
  const containers = mainContainers(d, roleEnv(d, s, replica, index, ctx));
  const main = containers[0]!;
  const req: Record<string, string> = { [ctx.gpuResource]: String(s.gpusPerPod), ...(ctx.rdmaResource ? { [ctx.rdmaResource]: '1' } : {}) };
  main.resources = { ...(main.resources ?? {}), limits: { ...(main.resources?.limits ?? {}), ...req }, requests: { ...(main.resources?.requests ?? {}), ...req } };
  spec.containers = containers;
  spec.restartPolicy = 'Never'; // a crashed rank breaks the replica's collective: the operator restarts the whole gang
  spec.schedulingGates = [{ name: SCHEDULING_GATE }];
  spec.nodeSelector = { ...(spec.nodeSelector ?? {}), ...(nodeSelector ?? {}) };
  spec.tolerations = [...(spec.tolerations ?? []), { key: ctx.gpuResource, operator: 'Exists', effect: 'NoSchedule' }];
  if (index === 0) {
    spec.serviceAccountName = n.leaderServiceAccount;
    spec.automountServiceAccountToken = true;
  } else if (spec.automountServiceAccountToken === undefined) spec.automountServiceAccountToken = false;
  const t = tplMeta(d);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: depMeta(d).namespace,
      labels: {
        ...(t.labels ?? {}),
        ...childLabels(d),
        [InfdLabels.role]: s.role,
        [InfdLabels.replica]: String(replica),
        [InfdLabels.podIndex]: String(index),
        [InfdLabels.revision]: revision,
        [InfdLabels.component]: 'server',
      },
      ...(t.annotations ? { annotations: { ...t.annotations } } : {}),
      ownerReferences: [ownerRef(d)],
    },
    spec: withRestrictedDefaults(spec),
  };
}

/** Router pod `i` (not gated, no GPUs; restarts in place). */
export function routerPod(d: IInferenceDeployment, i: number, ctx: ServeContext, revision: string): V1Pod {
  const n = infdNames(depMeta(d).name);
  const podName = n.routerPod(i);
  const spec = basePodSpec(d, podName);
  spec.containers = mainContainers(d, routerEnv(d, ctx));
  spec.restartPolicy = 'Always';
  if (ctx.fleetSelector && Object.keys(ctx.fleetSelector).length) spec.nodeSelector = { ...(spec.nodeSelector ?? {}), ...ctx.fleetSelector };
  spec.serviceAccountName = n.routerServiceAccount;
  spec.automountServiceAccountToken = true;
  const t = tplMeta(d);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: depMeta(d).namespace,
      labels: { ...(t.labels ?? {}), ...childLabels(d), [InfdLabels.role]: 'router', [InfdLabels.podIndex]: String(i), [InfdLabels.revision]: revision, [InfdLabels.component]: 'router' },
      ...(t.annotations ? { annotations: { ...t.annotations } } : {}),
      ownerReferences: [ownerRef(d)],
    },
    spec: withRestrictedDefaults(spec),
  };
}

const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 10);

/** Revision of a role: the hash of its pod as built for replica 0, pod 0, without placement. */
export function roleRevision(d: IInferenceDeployment, s: RoleShape, ctx: ServeContext): string {
  const p = rolePod(d, s, 0, 0, ctx, '');
  return hash({ spec: p.spec, labels: p.metadata!.labels, annotations: p.metadata!.annotations, pods: s.pods });
}

export function routerRevision(d: IInferenceDeployment, ctx: ServeContext): string {
  const p = routerPod(d, 0, ctx, '');
  return hash({ spec: p.spec, labels: p.metadata!.labels, annotations: p.metadata!.annotations });
}

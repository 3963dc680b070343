// Pure builders of a MoETrainingJob's children: the plan ConfigMap, the report ConfigMap, the headless Service, the
// reporter ServiceAccount/Role/RoleBinding (least-privilege progress channel, see README.md) and the pods.
import { createHash } from 'node:crypto';
import type { V1Container, V1EnvVar, V1Pod, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import { API_VERSION, FIELD_MANAGER, Labels, MTJ_KIND, QUEUE_LABEL_PREFIXES, SCHEDULING_GATE, childNames, RUNTIME_IMAGE } from '../../api/constants.js';
import type { IMoETrainingJob } from '../../api/types.gen.js';
import type { TrainingPlan } from '../../plan/types.js';
import { PlanConfigMap, RankEnv, TrainEnv, formatPlanDocument, type JudgeEndpoint, type PlanDocument } from '../../contract/index.js';
import { masterPort } from '../master-port.js';
import { withRestrictedDefaults } from '../pod-security.js';

type Meta = { name: string; namespace: string; uid: string };

export function jobMeta(job: IMoETrainingJob): Meta {
  const m = job.metadata ?? {};
  if (!m.name || !m.namespace || !m.uid) throw new Error('desired: job needs metadata.name, namespace and uid');
  return { name: m.name, namespace: m.namespace, uid: m.uid };
}

export function ownerRef(job: IMoETrainingJob) {
  const { name, uid } = jobMeta(job);
  return { apiVersion: API_VERSION, kind: MTJ_KIND, name, uid, controller: true, blockOwnerDeletion: true };
}

/** Labels every child carries: the job name, managed-by, and the job's queue labels (Kueue/Volcano). */
export function childLabels(job: IMoETrainingJob): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(job.metadata?.labels ?? {})) {
    if (QUEUE_LABEL_PREFIXES.some((p) => k.startsWith(p))) out[k] = v;
  }
  out[Labels.job] = jobMeta(job).name;
  out[Labels.managedBy] = FIELD_MANAGER;
  return out;
}

/** What the pods need besides the planner's plan: where checkpoints go and which step to resume from. */
export interface RunContext {
  attempt: number;
  /** Step of the checkpoint to resume from; undefined starts fresh. */
  resumeStep?: number;
  resumeUri?: string;
  /** Weights-only source (spec.checkpoint.initFrom resolved): MOE_INIT_URI. */
  initUri?: string;
  gpuResource: string;
  rdmaResource: string;
  /** training.mode grpo: the judge InferenceDeployments' endpoints (judges.ts), for the plan document. */
  judges?: Record<string, JudgeEndpoint>;
}

/**
 * Where a new gang starts (pure): this job's own recorded checkpoint once it has one, whatever resumeFrom says (a
 * restart must not go back to the source it started from); else the runtime follows resumeFrom (MOE_RESUME_FROM).
 * initFrom becomes MOE_INIT_URI: a URI as it is, a trainingJob as its run folder once it has Succeeded. Returns the
 * reason to wait instead when the source job is missing or not finished.
 */
export function startContext(job: IMoETrainingJob, latest: { step?: number; uri?: string } | undefined,
  source: IMoETrainingJob | undefined): Pick<RunContext, 'resumeStep' | 'resumeUri' | 'initUri'> | { waiting: string } {
  const out: Pick<RunContext, 'resumeStep' | 'resumeUri' | 'initUri'> = {};
  if (latest?.step !== undefined) {
    out.resumeStep = latest.step;
    if (latest.uri) out.resumeUri = latest.uri;
  }
  const init = job.spec.checkpoint?.initFrom;
  if (init?.uri) out.initUri = init.uri;
  else if (init?.trainingJob) {
    const name = init.trainingJob.name;
    const field = 'spec.checkpoint.initFrom.trainingJob';
    if (!source) return { waiting: `${field}: MoETrainingJob ${name} not found in namespace ${jobMeta(job).namespace}; waiting for it to exist and succeed` };
    if (source.status?.phase !== 'Succeeded') return { waiting: `${field}: MoETrainingJob ${name} is ${source.status?.phase ?? 'not started'}; waiting until it has Succeeded` };
    out.initUri = checkpointDir(source);
  }
  return out;
}

export function checkpointDir(job: IMoETrainingJob): string {
  const { name, namespace } = jobMeta(job);
  const base = (job.spec.checkpoint?.uri ?? 'file:///checkpoints').replace(/\/+$/, '');
  return `${base}/${namespace}/${name}`;
}

/** The document mounted into every pod as MOE_PLAN. */
export function planDocument(job: IMoETrainingJob, plan: TrainingPlan, ctx: RunContext): PlanDocument {
  const { name, namespace } = jobMeta(job);
  return {
    job: { namespace, name, attempt: ctx.attempt },
    plan,
    training: job.spec.training ?? {},
    precision: job.spec.precision ?? {},
    data: job.spec.data ?? {},
    checkpoint: {
      dir: checkpointDir(job),
      intervalSteps: job.spec.checkpoint?.intervalSteps ?? 100,
      keep: job.spec.checkpoint?.keep ?? 3,
      resumeStep: ctx.resumeStep ?? null,
      resumeUri: ctx.resumeUri ?? null,
      resumeFrom: job.spec.checkpoint?.resumeFrom ?? 'latest',
      initUri: ctx.initUri ?? null,
    },
    report: { configMap: childNames(name).reportConfigMap, namespace },
    ...(ctx.judges && Object.keys(ctx.judges).length ? { judges: ctx.judges } : {}),
  };
}

export function planHash(doc: unknown): string {
  return createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 16);
}

export function planConfigMap(job: IMoETrainingJob, doc: PlanDocument) {
  const { name, namespace } = jobMeta(job);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: childNames(name).planConfigMap,
      namespace,
      labels: { ...childLabels(job), [Labels.component]: 'plan', [Labels.attempt]: String(doc.job.attempt) },
      ownerReferences: [ownerRef(job)],
    },
    data: { [PlanConfigMap.key]: formatPlanDocument(doc) },
  };
}

/** The report ConfigMap: the operator owns its metadata only; rank 0 patches `data` (see README.md). */
export function reportConfigMap(job: IMoETrainingJob) {
  const { name, namespace } = jobMeta(job);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: childNames(name).reportConfigMap, namespace, labels: { ...childLabels(job), [Labels.component]: 'report' }, ownerReferences: [ownerRef(job)] },
  };
}

/** Whether the gang needs the headless Service: its per-pod DNS names are how ranks in other pods reach rank 0. The
 *  ranks of a one-pod gang meet inside their pod, at its own hostname (the kubelet's /etc/hosts names it); a Service
 *  would cost five writes per job (it, and the controller manager's Endpoints and EndpointSlice, each created and
 *  updated) for nothing, a quarter of a small job's API requests. */
export function needsService(plan: Pick<TrainingPlan, 'pods'>): boolean {
  return plan.pods > 1;
}

/** Rank 0's address: its pod's per-pod DNS name behind the headless Service, or in a one-pod gang its own hostname. */
export function masterAddr(job: IMoETrainingJob, plan: Pick<TrainingPlan, 'pods'>): string {
  const { name, namespace } = jobMeta(job);
  const n = childNames(name);
  return needsService(plan) ? `${n.pod(0)}.${n.service}.${namespace}.svc` : n.pod(0);
}

export function headlessService(job: IMoETrainingJob) {
  const { name, namespace } = jobMeta(job);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: childNames(name).service, namespace, labels: childLabels(job), ownerReferences: [ownerRef(job)] },
    spec: {
      clusterIP: 'None',
      // Ranks must resolve each other before they are Ready: rendezvous happens during start-up.
      publishNotReadyAddresses: true,
      selector: { [Labels.job]: name },
      ports: [{ name: 'rendezvous', port: masterPort(job.spec.template), targetPort: masterPort(job.spec.template), protocol: 'TCP' }],
    },
  };
}

/** ServiceAccount + Role + RoleBinding that let rank 0 get/patch exactly one ConfigMap: <job>-report. */
export function reporterRbac(job: IMoETrainingJob) {
  const { name, namespace } = jobMeta(job);
  const n = childNames(name);
  const meta = (nm: string) => ({ name: nm, namespace, labels: childLabels(job), ownerReferences: [ownerRef(job)] });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(n.reporterServiceAccount), automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(n.reporterRole),
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [n.reportConfigMap], verbs: ['get', 'patch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(n.reporterRole),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: n.reporterRole },
      subjects: [{ kind: 'ServiceAccount', name: n.reporterServiceAccount, namespace }],
    },
  ];
}

/** The contract env of DESIGN.md §4 for the pod holding ranks [firstRank, firstRank + gpusPerPod). */
export function contractEnv(job: IMoETrainingJob, plan: TrainingPlan, pod: number, ctx: RunContext): V1EnvVar[] {
  const { name, namespace } = jobMeta(job);
  const n = childNames(name);
  const placement = plan.placement[pod];
  if (!placement) throw new Error(`desired: plan has no placement for pod ${pod} (it has ${plan.placement.length})`);
  const r = placement.firstRank;
  const t = plan.rankTable;
  const env: Record<string, string> = {
    [RankEnv.masterAddr]: masterAddr(job, plan),
    [RankEnv.masterPort]: String(masterPort(job.spec.template)),
    [RankEnv.worldSize]: String(plan.worldSize),
    [RankEnv.rank]: String(r),
    [RankEnv.nodeRank]: String(pod),
    [RankEnv.nnodes]: String(plan.pods),
    [RankEnv.localRank]: '0',
    [RankEnv.localWorldSize]: String(plan.gpusPerPod),
    [TrainEnv.ppRank]: String(t.pp[r]),
    [TrainEnv.epRank]: String(t.ep[r]),
    [TrainEnv.dpRank]: String(t.dp[r]),
    [TrainEnv.tpRank]: String(t.tp[r]),
    [TrainEnv.plan]: `${PlanConfigMap.mountPath}/${PlanConfigMap.key}`,
    [TrainEnv.job]: `${namespace}/${name}`,
    [TrainEnv.restart]: String(ctx.attempt),
    [TrainEnv.checkpointDir]: checkpointDir(job),
    [TrainEnv.reportConfigMap]: n.reportConfigMap,
    [RankEnv.namespace]: namespace,
  };
  // Read by runtime/src/checkpoint/resume.ts.
  env[TrainEnv.resumeFrom] = job.spec.checkpoint?.resumeFrom ?? 'latest';
  if (ctx.resumeStep !== undefined) env[TrainEnv.resumeStep] = String(ctx.resumeStep);
  if (ctx.resumeUri !== undefined) env[TrainEnv.resumeUri] = ctx.resumeUri;
  if (ctx.initUri !== undefined) env[TrainEnv.initUri] = ctx.initUri;
  return Object.entries(env).map(([k, value]) => ({ name: k, value }));
}

const DEFAULT_CONTAINER: V1Container = { name: 'trainer', image: RUNTIME_IMAGE, command: ['moe-runtime', 'train'] };

/** Pod `index` of the gang, behind the gang gate unless `gated` is false (gang-start.ts decides). */
export function buildPod(job: IMoETrainingJob, plan: TrainingPlan, index: number, ctx: RunContext, hash: string, gated = true): V1Pod {
  const { name, namespace } = jobMeta(job);
  const n = childNames(name);
  const tpl = (job.spec.template ?? {}) as V1PodTemplateSpec;
  const tplSpec: Partial<V1PodSpec> = tpl.spec ?? {};
  const placement = plan.placement[index]!;
  const containers = (tplSpec.containers?.length ? tplSpec.containers : [DEFAULT_CONTAINER]).map((c) => ({ ...c }));
  const main = containers[0]!;
  const contract = contractEnv(job, plan, index, ctx);
  const contractNames = new Set(contract.map((e) => e.name));
  main.env = [...(main.env ?? []).filter((e) => !contractNames.has(e.name)), ...contract];
  const limits: Record<string, string> = { ...(main.resources?.limits ?? {}), [ctx.gpuResource]: String(plan.gpusPerPod) };
  if (ctx.rdmaResource) limits[ctx.rdmaResource] = '1';
  main.resources = { ...(main.resources ?? {}), limits, requests: { ...(main.resources?.requests ?? {}), [ctx.gpuResource]: String(plan.gpusPerPod), ...(ctx.rdmaResource ? { [ctx.rdmaResource]: '1' } : {}) } };
  main.volumeMounts = [...(main.volumeMounts ?? []).filter((m) => m.name !== 'moe-plan'), { name: 'moe-plan', mountPath: PlanConfigMap.mountPath, readOnly: true }];
  main.ports = main.ports?.length ? main.ports : [{ name: 'rendezvous', containerPort: masterPort(job.spec.template) }];

  const isReporter = placement.firstRank === 0;
  const spec: V1PodSpec = {
    ...tplSpec,
    containers,
    restartPolicy: 'Never',
    hostname: n.pod(index),
    ...(needsService(plan) ? { subdomain: n.service } : {}),
    ...(gated ? { schedulingGates: [{ name: SCHEDULING_GATE }] } : {}),
    nodeSelector: { ...(tplSpec.nodeSelector ?? {}), ...placement.nodeSelector },
    volumes: [...(tplSpec.volumes ?? []).filter((v) => v.name !== 'moe-plan'), { name: 'moe-plan', configMap: { name: n.planConfigMap } }],
    tolerations: [...(tplSpec.tolerations ?? []), ...(ctx.gpuResource ? [{ key: ctx.gpuResource, operator: 'Exists', effect: 'NoSchedule' }] : [])],
  };
  if (job.spec.schedulerName) spec.schedulerName = job.spec.schedulerName;
  if (isReporter) {
    // Only the pod holding rank 0 gets a token, and that token can patch only <job>-report.
    spec.serviceAccountName = n.reporterServiceAccount;
    spec.automountServiceAccountToken = true;
  } else if (tplSpec.automountServiceAccountToken === undefined) {
    spec.automountServiceAccountToken = false;
  }
  const stage = plan.rankTable.pp[placement.firstRank] ?? 0;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: n.pod(index),
      namespace,
      labels: {
        ...(tpl.metadata?.labels ?? {}),
        ...childLabels(job),
        [Labels.podIndex]: String(index),
        [Labels.stage]: String(stage),
        [Labels.attempt]: String(ctx.attempt),
        [Labels.component]: 'worker',
      },
      annotations: { ...(tpl.metadata?.annotations ?? {}), 'moe.io/plan-hash': hash },
      ownerReferences: [ownerRef(job)],
    },
    spec: withRestrictedDefaults(spec),
  };
}

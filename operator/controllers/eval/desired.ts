// Pure builders of a MoEEvaluation's children: the plan of one run (contract/evaluation.ts EvalPlan) and its ConfigMap
// `<e>-eval`, the report ConfigMap `<e>-eval-report` (the operator owns its metadata, the pod patches data.result),
// the pod's ServiceAccount/Role/RoleBinding (patch that one ConfigMap, nothing else) and the evaluation pod.
import { createHash } from 'node:crypto';
import type { V1Container, V1EnvVar, V1Pod, V1PodSpec, V1PodTemplateSpec, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { API_VERSION, EVAL_KIND, EvalAnnotations, EvalLabels, FIELD_MANAGER, QUEUE_LABEL_PREFIXES, RUNTIME_IMAGE, evalNames } from '../../api/constants.js';
import type { IInferenceDeployment, IMoEEvaluation } from '../../api/types.gen.js';
import { EvalConfigMaps, EvalEnv, RankEnv, formatEvalPlan, type EvalPlan, type EvalTarget, type EvalTask } from '../../contract/index.js';
import { routerUrl } from '../infd/desired.js';
import { servedModelName, uriPath } from '../infd/spec.js';
import { withRestrictedDefaults } from '../pod-security.js';

type Meta = { name: string; namespace: string; uid: string };
export type Checkpoint = { step: number; uri: string };

export function evalMeta(e: IMoEEvaluation): Meta {
  const m = e.metadata ?? {};
  if (!m.name || !m.namespace || !m.uid) throw new Error('desired: evaluation needs metadata.name, namespace and uid');
  return { name: m.name, namespace: m.namespace, uid: m.uid };
}

export function ownerRef(e: IMoEEvaluation) {
  const { name, uid } = evalMeta(e);
  return { apiVersion: API_VERSION, kind: EVAL_KIND, name, uid, controller: true, blockOwnerDeletion: true };
}

/** Labels every child carries: the evaluation name, managed-by, and the evaluation's queue labels (Kueue/Volcano). */
export function childLabels(e: IMoEEvaluation): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.metadata?.labels ?? {})) if (QUEUE_LABEL_PREFIXES.some((p) => k.startsWith(p))) out[k] = v;
  out[EvalLabels.evaluation] = evalMeta(e).name;
  out[EvalLabels.managedBy] = FIELD_MANAGER;
  return out;
}

const meta = (e: IMoEEvaluation, name: string, labels: Record<string, string> = {}) => ({
  name, namespace: evalMeta(e).namespace, labels: { ...childLabels(e), ...labels }, ownerReferences: [ownerRef(e)],
});

/** Where task i's ConfigMap key is mounted (a folder per task: two tasks may use the same key name). */
export const TASKS_MOUNT = '/etc/moe/eval-tasks';
const taskVolume = (i: number) => `moe-eval-task-${i}`;

/** The JSONL file of a task as the pod sees it. */
export function taskFile(t: IMoEEvaluation['spec']['tasks'][number], i: number): string {
  return t.source.configMap ? `${TASKS_MOUNT}/${i}/${t.source.configMap.key}` : t.source.path!;
}

/** The API of a served deployment: its router Service's OpenAI base URL and served model name. */
export function apiTarget(d: IInferenceDeployment): EvalTarget {
  return { kind: 'api', baseUrl: `${routerUrl(d)}/v1`, model: servedModelName(d) };
}

/** A model folder (file:// URI) the pod loads itself. */
export function modelTarget(uri: string): EvalTarget {
  return { kind: 'model', path: uriPath(uri) };
}

/** The plan of one run: the spec's tasks with their files, the target, the checkpoint when it is a training one. */
export function evalPlan(e: IMoEEvaluation, target: EvalTarget, checkpoint?: Checkpoint): EvalPlan {
  const tasks = e.spec.tasks.map((t, i): EvalTask => {
    const out: EvalTask = { name: t.name, type: t.type, file: taskFile(t, i) };
    for (const k of ['limit', 'maxTokens', 'answerPattern', 'samples', 'k', 'timeoutSeconds', 'memoryMiB'] as const) {
      if (t[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = t[k];
    }
    return out;
  });
  return {
    target,
    tasks,
    ...(checkpoint ? { checkpoint } : {}),
    requestTimeoutSeconds: e.spec.requestTimeoutSeconds ?? 120,
    retries: e.spec.retries ?? 3,
  };
}

export function planConfigMap(e: IMoEEvaluation, plan: EvalPlan) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(e, evalNames(evalMeta(e).name).planConfigMap, { [EvalLabels.component]: 'eval-plan' }),
    data: { [EvalConfigMaps.plan.key]: formatEvalPlan(plan) },
  };
}

/** The report ConfigMap: the operator owns its metadata only; the pod merge-patches data.result. */
export function reportConfigMap(e: IMoEEvaluation) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(e, evalNames(evalMeta(e).name).reportConfigMap, { [EvalLabels.component]: 'eval-report' }) };
}

/** ServiceAccount + Role + RoleBinding that let the evaluation pod get/patch exactly one ConfigMap: <e>-eval-report. */
export function reporterRbac(e: IMoEEvaluation) {
  const { namespace } = evalMeta(e);
  const n = evalNames(evalMeta(e).name);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(e, n.serviceAccount), automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(e, n.serviceAccount),
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [n.reportConfigMap], verbs: ['get', 'patch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(e, n.serviceAccount),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: n.serviceAccount },
      subjects: [{ kind: 'ServiceAccount', name: n.serviceAccount, namespace }],
    },
  ];
}

/** The contract env of an evaluation pod (every one is read by `moe-runtime eval`). */
export function evalEnv(e: IMoEEvaluation): V1EnvVar[] {
  const { name, namespace } = evalMeta(e);
  return [
    { name: EvalEnv.plan, value: `${EvalConfigMaps.plan.mountPath}/${EvalConfigMaps.plan.key}` },
    { name: EvalEnv.reportConfigMap, value: evalNames(name).reportConfigMap },
    { name: RankEnv.namespace, value: namespace },
  ];
}

const DEFAULT_CONTAINER: V1Container = { name: 'eval', image: RUNTIME_IMAGE, command: ['moe-runtime'] };
const PLAN_VOLUME = 'moe-eval-plan';

/** Evaluation pod of run `run`: the template's first container runs `moe-runtime eval` with the plan and task files. */
export function evalPod(e: IMoEEvaluation, run: number, checkpoint?: Checkpoint): V1Pod {
  const { name, namespace } = evalMeta(e);
  const n = evalNames(name);
  const tpl = (e.spec.template ?? {}) as V1PodTemplateSpec;
  const tplSpec: Partial<V1PodSpec> = structuredClone(tpl.spec ?? {});
  const containers = (tplSpec.containers?.length ? tplSpec.containers : [DEFAULT_CONTAINER]).map((c) => structuredClone(c));
  const main = containers[0]!;
  const env = evalEnv(e);
  const names = new Set(env.map((x) => x.name));
  main.env = [...(main.env ?? []).filter((x) => !names.has(x.name)), ...env];
  if (!main.args?.length && !(main.command ?? []).includes('eval')) main.args = ['eval'];
  // The runtime's last words (exit 2: which file and line; exit 3: which URL) show in the pod status and in status.
  main.terminationMessagePolicy ??= 'FallbackToLogsOnError';
  const ours = new Set([PLAN_VOLUME, ...e.spec.tasks.map((_, i) => taskVolume(i))]);
  const mounts: V1VolumeMount[] = [{ name: PLAN_VOLUME, mountPath: EvalConfigMaps.plan.mountPath, readOnly: true }];
  const volumes: V1Volume[] = [{ name: PLAN_VOLUME, configMap: { name: n.planConfigMap } }];
  e.spec.tasks.forEach((t, i) => {
    if (!t.source.configMap) return;
    const { name: cm, key } = t.source.configMap;
    volumes.push({ name: taskVolume(i), configMap: { name: cm, items: [{ key, path: key }] } });
    mounts.push({ name: taskVolume(i), mountPath: `${TASKS_MOUNT}/${i}`, readOnly: true });
  });
  main.volumeMounts = [...(main.volumeMounts ?? []).filter((m) => !ours.has(m.name)), ...mounts];
  const spec: V1PodSpec = {
    ...tplSpec,
    containers,
    restartPolicy: 'Never',
    volumes: [...(tplSpec.volumes ?? []).filter((v) => !ours.has(v.name)), ...volumes],
    // The pod's token can patch <e>-eval-report and nothing else (reporterRbac).
    serviceAccountName: n.serviceAccount,
    automountServiceAccountToken: true,
  };
  const annotations: Record<string, string> = { ...(tpl.metadata?.annotations ?? {}) };
  if (checkpoint) {
    annotations[EvalAnnotations.checkpointStep] = String(checkpoint.step);
    annotations[EvalAnnotations.checkpointUri] = checkpoint.uri;
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: n.pod(run),
      namespace,
      labels: { ...(tpl.metadata?.labels ?? {}), ...childLabels(e), [EvalLabels.run]: String(run), [EvalLabels.component]: 'eval' },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [ownerRef(e)],
    },
    spec: withRestrictedDefaults(spec),
  };
}

/** Hash of what a run's plan and pod depend on: a result is current while its hash equals this. */
export function specHash(e: IMoEEvaluation): string {
  const { target, tasks, requestTimeoutSeconds, retries, template } = e.spec;
  return createHash('sha256').update(JSON.stringify({ target, tasks, requestTimeoutSeconds, retries, template })).digest('hex').slice(0, 12);
}

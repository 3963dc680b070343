// Runs the MoETrainingJob controller in-process against a local cluster, plus small kubectl helpers for step tables.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig as KubeConfigCtor, type KubeConfig } from '@kubernetes/client-node';
import { EvalController } from '../../../operator/controllers/eval/setup.js';
import { InfdController } from '../../../operator/controllers/infd/setup.js';
import { MtjController } from '../../../operator/controllers/mtj/setup.js';
import { loadPlanner } from '../../../operator/controllers/mtj/planner.js';
import { silentLogger, makeLogger } from '../../../operator/kube/log.js';
import { OperatorMetrics } from '../../../operator/kube/metrics.js';
import { FIELD_MANAGER } from '../../../operator/api/constants.js';
import { KubeClient } from '../../../operator/kube/rest.js';
import type { LocalCluster } from '../../cluster/index.js';
import { eventually } from '../../util/poll.js';

export const ROOT = process.cwd();

export async function startOperator(kc: KubeConfig, opts: { namespace?: string; namespaces?: string[]; resyncMs?: number; workers?: number; infd?: boolean; eval?: boolean; bindDeadlineMs?: number } = {}) {
  const client = new KubeClient(kc, FIELD_MANAGER);
  const metrics = new OperatorMetrics(false);
  const log = process.env.MOE_TEST_LOG ? makeLogger('debug') : silentLogger();
  const common = { kc, client, metrics, log, workers: opts.workers ?? 4, resyncMs: opts.resyncMs ?? 5_000, ...(opts.namespace ? { namespace: opts.namespace } : {}), ...(opts.namespaces ? { namespaces: opts.namespaces } : {}) };
  const mtj = new MtjController({ ...common, plan: await loadPlanner(), ...(opts.bindDeadlineMs !== undefined ? { bindDeadlineMs: opts.bindDeadlineMs } : {}) });
  // The InferenceDeployment controller runs beside it when asked (its CRDs must be installed).
  const infd = opts.infd ? new InfdController(common) : undefined;
  // The MoEEvaluation controller too, when asked.
  const evaluations = opts.eval ? new EvalController(common) : undefined;
  await Promise.all([mtj.sync(), infd?.sync(), evaluations?.sync()]);
  mtj.run();
  infd?.run();
  evaluations?.run();
  return { mtj, infd, evaluations, client, metrics, stop: () => Promise.all([mtj.stop(), infd?.stop(), evaluations?.stop()]).then(() => undefined) };
}

export async function json<T = any>(c: LocalCluster, args: string[]): Promise<T> {
  return JSON.parse(await c.kubectl([...args, '-o', 'json'])) as T;
}

export async function applyYaml(c: LocalCluster, yaml: string): Promise<string> {
  return c.kubectl(['apply', '-f', '-'], yaml);
}

/** Applies crds/ and waits until both are Established (kubectl wait races a CRD whose status is still empty). */
export async function installCrds(c: LocalCluster): Promise<void> {
  for (const f of crdPaths()) await c.kubectl(['apply', '--server-side', '-f', f]);
  for (const crd of ['moetrainingjobs.moe.io', 'clustertopologies.moe.io', 'inferencedeployments.moe.io', 'inferenceroles.moe.io', 'moeevaluations.moe.io']) {
    await eventually(
      async () => (await c.kubectl(['get', 'crd', crd, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'])).trim() === 'True' || false,
      { timeoutMs: 60_000, what: `CRD ${crd} Established` },
    );
  }
}

export function crdPaths(): string[] {
  return ['moe.io_clustertopologies.yaml', 'moe.io_moetrainingjobs.yaml', 'moe.io_inferencedeployments.yaml', 'moe.io_inferenceroles.yaml', 'moe.io_moeevaluations.yaml'].map((f) => join(ROOT, 'crds', f));
}

export const DEFAULT_TOPOLOGY = `apiVersion: moe.io/v1alpha1
kind: ClusterTopology
metadata: {name: default}
spec:
  gpuResource: nvidia.com/gpu
  rdmaResource: rdma/ib
  gpusPerNode: 8
  levels:
  - {name: nvlink, nodeLabel: moe.io/nvlink-domain, gbpsPerGpu: 160}
  - {name: host, nodeLabel: kubernetes.io/hostname, gbpsPerGpu: 160}
  - {name: leaf, nodeLabel: moe.io/leaf, gbpsPerGpu: 50}
  - {name: spine, nodeLabel: moe.io/spine, gbpsPerGpu: 25}
`;

/** A small job: tiny preset, PP 2 (DualPipe) × EP 8 = 16 ranks = 2 pods of 8 GPUs. */
export function tinyJob(name: string, ns: string, extra = ''): string {
  return `apiVersion: moe.io/v1alpha1
kind: MoETrainingJob
metadata: {name: ${name}, namespace: ${ns}, labels: {kueue.x-k8s.io/queue-name: q1}}
spec:
  model: {preset: deepseek-v3-tiny}
  parallelism:
    pipeline: {stages: 2, schedule: DualPipe, microBatches: 4}
    expert: 8
    gpusPerPod: 8
  failurePolicy:
    maxRestarts: 2
    backoff: {initialSeconds: 1, maxSeconds: 2}
  template:
    spec:
      containers:
      - {name: trainer, image: moe-runtime:test}
${extra}`;
}

export function readExample(name: string): string {
  return readFileSync(join(ROOT, 'examples', name), 'utf8');
}

/**
 * A kubeconfig for the operator's ServiceAccount with exactly the chart's RBAC (helm template of rbac.yaml and
 * serviceaccount.yaml, with `helmArgs` such as --set watchNamespaces={a}), so tests prove the least-privilege rules suffice.
 */
export async function chartRbacKubeConfig(c: LocalCluster, namespace = 'moe-system', helmArgs: string[] = []): Promise<KubeConfig> {
  const chart = join(ROOT, 'charts', 'moe-operator');
  await c.kubectl(['create', 'namespace', namespace]).catch(() => undefined);
  const rbac = await c.helm(['template', 'moe', chart, '--namespace', namespace, ...helmArgs, '--show-only', 'templates/rbac.yaml', '--show-only', 'templates/serviceaccount.yaml']);
  await c.kubectl(['apply', '-f', '-'], rbac);
  const token = (await c.kubectl(['-n', namespace, 'create', 'token', 'moe-moe-operator', '--duration=2h'])).trim();
  const admin = c.kubeConfig();
  const cluster = admin.getCurrentCluster()!;
  const kc = new KubeConfigCtor();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'local' }],
    users: [{ name: 'moe-operator', token }],
    contexts: [{ name: 'op', cluster: 'local', user: 'moe-operator', namespace }],
    currentContext: 'op',
  });
  return kc;
}

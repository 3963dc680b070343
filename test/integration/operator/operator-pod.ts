// The operator as a pod's container would run it, for kill tests and the recovery bench: operator/main.ts as a real
// process with the chart's POD_NAME/POD_UID, restarted restartDelayMs after it dies (the kubelet restarts a
// container's first crash without backoff, once its pod lifecycle event generator has seen the exit: about 1 s), and
// the checks that a gang came through a kill intact.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { SCHEDULING_GATE } from '../../../operator/api/constants.js';
import { registerKinds, resourcePath, type KubeClient } from '../../../operator/kube/rest.js';
import { PROJECT_KINDS } from '../../../operator/controllers/kinds.js';
import type { LocalCluster } from '../../cluster/index.js';
import { freePort } from '../../cluster/ports.js';
import { ROOT } from './harness.js';

// The operator runs in its own process here: the caller's client needs the project's kinds for its paths.
registerKinds(PROJECT_KINDS);

export class OperatorPod {
  private proc: ChildProcess | undefined;
  private stopping = false;
  readonly uid = randomUUID();
  /** Process starts, the first included. */
  starts = 0;
  private readonly kubeconfig: string;
  private stderr = '';

  constructor(
    c: LocalCluster,
    kc: KubeConfig,
    readonly name = 'moe-operator-0',
    private readonly env: Record<string, string> = {},
    readonly restartDelayMs = 1000,
  ) {
    this.kubeconfig = join(c.stateDir, `${name}.kubeconfig`);
    writeFileSync(this.kubeconfig, kc.exportConfig());
  }

  async start(): Promise<void> {
    const port = await freePort();
    this.starts++;
    const p = spawn(process.execPath, [join(ROOT, 'dist', 'operator', 'main.js')], {
      env: { ...process.env, KUBECONFIG: this.kubeconfig, METRICS_ADDR: `127.0.0.1:${port}`, LEASE_NAMESPACE: 'default', POD_NAME: this.name, POD_UID: this.uid, LOG_LEVEL: 'warn', WORKERS: '16', ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    p.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    // The kubelet's restart: at once, with the same pod name and uid (a new process, so a new lease identity).
    p.once('exit', () => {
      if (!this.stopping && this.proc === p) setTimeout(() => void (this.stopping ? undefined : this.start()), this.restartDelayMs);
    });
    this.proc = p;
  }

  /** SIGKILL (no lease release, no reconcile finished); the container restarts. */
  kill(): void {
    this.proc?.kill('SIGKILL');
  }

  log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await once(p, 'exit');
    }
  }
}

/** The lease's holder (undefined: no lease yet). */
export async function leaseHolder(client: KubeClient, name = 'moe-operator'): Promise<string | undefined> {
  try {
    return (await client.get<{ spec: { holderIdentity?: string } }>(resourcePath('coordination.k8s.io/v1', 'Lease', 'default', name))).spec.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

interface PodView {
  metadata: { name: string; uid: string; labels?: Record<string, string>; ownerReferences?: Array<{ uid: string; controller?: boolean }>; deletionTimestamp?: string };
  spec: { schedulingGates?: Array<{ name: string }>; nodeName?: string };
  status?: { phase?: string };
}

/**
 * What is wrong with job `job`'s gang of `pods` pods in `namespace` (empty: nothing): a pod index missing or twice, a
 * pod of the job's label without the job as controller (an orphan), a pod still gated, pods of other attempts.
 */
export async function gangProblems(client: KubeClient, namespace: string, job: string, pods: number): Promise<string[]> {
  const j = await client.get<{ metadata: { uid: string }; status?: { attempt?: number } }>(resourcePath('moe.io/v1alpha1', 'MoETrainingJob', namespace, job));
  const list = (await client.list<PodView>(resourcePath('v1', 'Pod', namespace), { labelSelector: `moe.io/job-name=${job}` })).items;
  const problems: string[] = [];
  const byIndex = new Map<string, string[]>();
  for (const p of list) {
    const i = p.metadata.labels?.['moe.io/pod-index'] ?? '?';
    byIndex.set(i, [...(byIndex.get(i) ?? []), p.metadata.name]);
    if (!p.metadata.ownerReferences?.some((o) => o.uid === j.metadata.uid && o.controller)) problems.push(`orphan: ${p.metadata.name} is not controlled by job ${job}`);
    if (p.spec.schedulingGates?.some((g) => g.name === SCHEDULING_GATE)) problems.push(`gated: ${p.metadata.name}`);
    if (p.metadata.labels?.['moe.io/attempt'] !== String(j.status?.attempt ?? 0)) problems.push(`other attempt: ${p.metadata.name} (${p.metadata.labels?.['moe.io/attempt']})`);
  }
  for (const [i, names] of byIndex) if (names.length > 1) problems.push(`duplicate: pod index ${i} has ${names.join(', ')}`);
  for (let i = 0; i < pods; i++) if (!byIndex.has(String(i))) problems.push(`missing: pod index ${i}`);
  return problems;
}
